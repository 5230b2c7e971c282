// The DHT over detr streams: one stream per request on the protocol `/detr/<network id>/dht/1`,
// one framed DhtRequest up, one framed DhtResponse down. Connections come from the transport's
// connection manager (authenticated, scoped to one network by the handshake); a connection of
// another network is refused. Every inbound byte is hostile: bad frames reset the stream and are
// reported; sizes, concurrency and time are bounded.
import {
  noopLogger,
  noopPeerReporter,
  systemClock,
  withPeer,
  type AbortOptions,
  type Address,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
  type StreamHandler,
} from '@detr/interface';
import {
  createFrameDecoder,
  DhtRequest,
  DhtResponse,
  encodeFrame,
  MessageType,
  ProtocolError,
} from '@detr/protocol';
import { DhtInvalidResponseError, DhtTimeoutError, DhtUnreachableError } from '../errors.js';
import { hex } from '../keys.js';
import type { DhtNetwork, RpcHandler, RpcReply, RpcTarget } from './network.js';

/** What the stream network needs from the transport (its connection manager fits). */
export interface StreamDialer {
  /** The connection to a peer or address: an open one, or a new dial. */
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** The addresses this node listens on. */
  addresses(): readonly Address[];
}

/** Injected dependencies of {@link createStreamNetwork}. */
export interface StreamNetworkComponents {
  dialer: StreamDialer;
  /** Told about peers that send malformed requests. @default noopPeerReporter */
  reporter?: PeerReporter;
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
}

/** Options of {@link createStreamNetwork}. */
export interface StreamNetworkInit {
  /** The network id (32 bytes); it names the protocol. */
  networkId: Uint8Array;
  /** Largest request or response frame. @default 131072 */
  maxMessageBytes?: number;
  /** Inbound requests handled at once; more are reset. @default 256 */
  maxInboundRequests?: number;
  /** Time an inbound stream has to deliver its request. @default 10000 */
  inboundTimeoutMs?: number;
  /** Addresses to advertise instead of the dialer's listen addresses. */
  advertise?: () => readonly Address[];
}

/** A {@link DhtNetwork} over detr streams; `stop()` resets its streams in flight. */
export interface StreamNetwork extends DhtNetwork {
  /** The stream protocol: `/detr/<network id hex>/dht/1`. */
  readonly protocol: string;
  stop(): void;
}

/**
 * Reads exactly one frame of `type` from `stream`, then the end of its readable side, leaving the
 * writable side open (an async iterator would destroy the whole duplex when it finishes).
 */
function readOne(stream: Stream, type: MessageType, maxFrameBytes: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const decoder = createFrameDecoder({ maxFrameBytes, types: [type] });
    let body: Uint8Array | undefined;
    let done = false;
    const finish = (err: unknown, value?: Uint8Array): void => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err !== undefined) reject(err instanceof Error ? err : new Error('stream failed'));
      else resolve(value as Uint8Array);
    };
    const onData = (chunk: Uint8Array): void => {
      try {
        for (const frame of decoder.push(chunk)) {
          if (body !== undefined) throw new DhtInvalidResponseError('More than one frame');
          body = frame.body.slice();
        }
      } catch (err) {
        finish(err);
      }
    };
    const onEnd = (): void => {
      try {
        decoder.end();
        if (body === undefined) throw new DhtInvalidResponseError('No frame');
        finish(undefined, body);
      } catch (err) {
        finish(err);
      }
    };
    const onError = (err: unknown): void => finish(err ?? new Error('stream failed'));
    const onClose = (): void => finish(new Error('stream closed'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Creates the DHT's network over detr streams.
 *
 * @throws {TypeError} when `networkId` is not 32 bytes
 * @example
 * ```ts
 * const network = createStreamNetwork({ dialer: connectionManager }, { networkId })
 * const dht = createDht({ signer: identity, network, store }, { networkId })
 * ```
 */
export function createStreamNetwork(
  components: StreamNetworkComponents,
  init: StreamNetworkInit,
): StreamNetwork {
  if (!(init.networkId instanceof Uint8Array) || init.networkId.length !== 32)
    throw new TypeError('networkId must be 32 bytes');
  const { dialer } = components;
  const clock = components.clock ?? systemClock;
  const reporter = components.reporter ?? noopPeerReporter;
  const log = (components.logger ?? noopLogger).child({ component: 'dht-net' });
  const networkHex = hex(init.networkId);
  const protocol = `/detr/${networkHex}/dht/1`;
  const maxBytes = init.maxMessageBytes ?? 128 * 1024;
  const maxInbound = init.maxInboundRequests ?? 256;
  const inboundTimeoutMs = init.inboundTimeoutMs ?? 10_000;
  const open = new Set<Stream>();
  let handler: RpcHandler | undefined;
  let inbound = 0;

  const ignore = (): void => {};
  const track = (s: Stream): void => {
    open.add(s);
    // A reset (by us or the remote) surfaces as 'error': never let it go unhandled.
    s.on('error', ignore);
    s.once('close', () => open.delete(s));
  };

  const onStream: StreamHandler = async (stream, connection) => {
    track(stream);
    const h = handler;
    if (h === undefined || connection.remote.networkId !== networkHex || inbound >= maxInbound) {
      stream.reset();
      return;
    }
    inbound++;
    const timer = clock.setTimeout(() => stream.reset(new DhtTimeoutError()), inboundTimeoutMs);
    try {
      let request: DhtRequest;
      try {
        request = DhtRequest.decode(await readOne(stream, MessageType.DhtRequest, maxBytes));
      } catch (err) {
        if (err instanceof ProtocolError || err instanceof DhtInvalidResponseError) {
          reporter.penalize(connection.remotePeer, 'invalid-message');
        }
        stream.reset();
        return;
      }
      const response = await h({
        peer: connection.remotePeer,
        address: connection.remoteAddress,
        request,
      });
      if (response === undefined) {
        stream.reset();
        return;
      }
      stream.end(encodeFrame(MessageType.DhtResponse, response, { maxFrameBytes: maxBytes }));
    } catch (err) {
      log.debug({ err }, 'inbound DHT request failed');
      stream.reset();
    } finally {
      timer.cancel();
      inbound--;
    }
  };

  const connect = async (target: RpcTarget, signal: AbortSignal): Promise<Connection> => {
    let last: unknown;
    const peerText = target.peer?.toString();
    for (const address of target.addresses) {
      try {
        const a =
          peerText !== undefined && address.relay === undefined && address.peer !== peerText
            ? withPeer(address, peerText)
            : address;
        return await dialer.dial(a, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
        last = err;
      }
    }
    throw new DhtUnreachableError('No address of the peer could be dialed', { cause: last });
  };

  return {
    protocol,
    listenAddresses: () => init.advertise?.() ?? dialer.addresses(),
    setHandler(h) {
      if (h !== undefined && handler === undefined) dialer.handle(protocol, onStream);
      if (h === undefined && handler !== undefined) dialer.unhandle(protocol);
      handler = h;
    },
    async request(target, request, { timeoutMs }): Promise<RpcReply> {
      const ac = new AbortController();
      let timedOut = false;
      let stream: Stream | undefined;
      const timer = clock.setTimeout(() => {
        timedOut = true;
        ac.abort(new DhtTimeoutError());
        stream?.reset(new DhtTimeoutError());
      }, timeoutMs);
      try {
        const connection = await connect(target, ac.signal);
        if (target.peer !== undefined && !connection.remotePeer.equals(target.peer))
          throw new DhtUnreachableError('Another peer answered');
        if (connection.remote.networkId !== networkHex)
          throw new DhtUnreachableError('The peer belongs to another network');
        try {
          stream = await connection.newStream(protocol, { signal: ac.signal });
        } catch (err) {
          if (timedOut) throw err;
          throw new DhtUnreachableError('The peer does not serve this DHT', { cause: err });
        }
        track(stream);
        stream.end(encodeFrame(MessageType.DhtRequest, request, { maxFrameBytes: maxBytes }));
        let response: DhtResponse;
        try {
          response = DhtResponse.decode(await readOne(stream, MessageType.DhtResponse, maxBytes));
        } catch (err) {
          if (timedOut) throw err;
          if (err instanceof ProtocolError || err instanceof DhtInvalidResponseError)
            throw new DhtInvalidResponseError('Malformed response', { cause: err });
          throw new DhtUnreachableError('The stream failed', { cause: err });
        }
        return { peer: connection.remotePeer, address: connection.remoteAddress, response };
      } catch (err) {
        if (timedOut) throw new DhtTimeoutError(undefined, { cause: err });
        if (
          err instanceof DhtUnreachableError ||
          err instanceof DhtInvalidResponseError ||
          err instanceof DhtTimeoutError
        )
          throw err;
        throw new DhtUnreachableError('The request failed', { cause: err });
      } finally {
        timer.cancel();
      }
    },
    stop() {
      if (handler !== undefined) dialer.unhandle(protocol);
      handler = undefined;
      for (const s of open) s.reset();
      open.clear();
    },
  };
}
