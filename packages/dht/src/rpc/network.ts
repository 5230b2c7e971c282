// The contract between the DHT logic and whatever carries its messages: detr streams
// (`createStreamNetwork`) or the in-process simulator (`createSimNetwork`). The logic never
// touches sockets, streams or bytes: it sends one request, gets one response or a typed error,
// and answers inbound requests.
import type { Address, PeerId } from '@detr/interface';
import type { DhtRequest, DhtResponse } from '@detr/protocol';

/** Who a request goes to. */
export interface RpcTarget {
  /** The peer expected to answer; when absent (a bootstrap address) whoever answers is accepted. */
  readonly peer?: PeerId;
  /** Where to reach it, best first. */
  readonly addresses: readonly Address[];
  /** `addresses` in text form, when the caller has them (saves formatting them again). */
  readonly addressText?: readonly string[] | undefined;
}

/** A response and where it came from. */
export interface RpcReply {
  /** The authenticated peer that answered. */
  readonly peer: PeerId;
  /** The remote address of the connection that carried it (for IP-diversity limits). */
  readonly address: Address | undefined;
  /** The response; its `requestId` matches the request's. Fields are not yet checked by the DHT. */
  readonly response: DhtResponse;
}

/** An inbound request, from an authenticated peer of this network. */
export interface RpcInbound {
  readonly peer: PeerId;
  /** The remote address of the connection it came on (observed, not claimed). */
  readonly address: Address | undefined;
  readonly request: DhtRequest;
}

/**
 * Answers an inbound request. Returning `undefined` sends no response (the requester times
 * out). It must not throw; if it does, the request is dropped.
 */
export type RpcHandler = (inbound: RpcInbound) => Promise<DhtResponse | undefined>;

/** Options of one request. */
export interface RpcRequestOptions {
  /** Give up after this long (on the network's clock) with `DhtTimeoutError`. */
  readonly timeoutMs: number;
}

/**
 * Carries DHT requests and responses. Implementations authenticate peers (the transport's
 * handshake) and scope them to one network (the protocol id carries the network id).
 */
export interface DhtNetwork {
  /**
   * Sends `request` and resolves with the response.
   *
   * @throws {DhtTimeoutError} when no response arrives within `timeoutMs`
   * @throws {DhtUnreachableError} when the peer cannot be reached, or another peer answered
   * @throws {DhtInvalidResponseError} when the response is not a valid DhtResponse
   */
  request(target: RpcTarget, request: DhtRequest, options: RpcRequestOptions): Promise<RpcReply>;
  /** Installs (or with `undefined`, removes) the handler of inbound requests. */
  setHandler(handler: RpcHandler | undefined): void;
  /** The addresses this node can be reached at (advertised to peers in every request). */
  listenAddresses(): readonly Address[];
}
