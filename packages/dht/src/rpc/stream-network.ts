// The DHT over detr streams, on the protocol `/detr/<network id>/dht/1`. A requester keeps one
// long-lived stream per connection and sends framed DhtRequests on it; the other side answers
// with framed DhtResponses carrying the same request id, in any order. (Opening a stream per
// request cost about ten times the CPU of the request itself.) Connections come from the
// transport's connection manager, authenticated and scoped to one network by the handshake; a
// connection of another network is refused. Every inbound byte is hostile: bad frames reset the
// stream and are reported; sizes, concurrency and time are bounded.
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
  type Timer,
} from '@detr/interface';
import { DhtResponse, encodeFrame, MessageType, ProtocolError } from '@detr/protocol';
import { DhtInvalidResponseError, DhtTimeoutError, DhtUnreachableError } from '../errors.js';
import { hex } from '../keys.js';
import type { DhtNetwork, RpcHandler, RpcReply, RpcTarget } from './network.js';
import { createInboundHandler, frames } from './stream-server.js';

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
  /** Told about peers that send malformed frames. @default noopPeerReporter */
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
  /** Inbound requests handled at once on one stream; more reset the stream. @default 256 */
  maxInboundPerStream?: number;
  /** Requests waiting for an answer on one outbound stream; more fail at once. @default 256 */
  maxPendingPerStream?: number;
  /** Addresses to advertise instead of the dialer's listen addresses. */
  advertise?: () => readonly Address[];
}

/** A {@link DhtNetwork} over detr streams; `stop()` resets its streams. */
export interface StreamNetwork extends DhtNetwork {
  /** The stream protocol: `/detr/<network id hex>/dht/1`. */
  readonly protocol: string;
  stop(): void;
}

interface Pending {
  readonly id: number;
  readonly resolve: (r: DhtResponse) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Timer;
}

interface Channel {
  readonly connection: Connection;
  readonly stream: Stream;
  readonly pending: Map<number, Pending>;
  nextId: number;
  closed: boolean;
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
  const maxInbound = init.maxInboundPerStream ?? 256;
  const maxPending = init.maxPendingPerStream ?? 256;
  const open = new Set<Stream>();
  const channels = new Map<Connection, Channel>();
  const opening = new Map<Connection, Promise<Channel>>();
  let handler: RpcHandler | undefined;
  let stopped = false;

  const ignore = (): void => {};
  const track = (s: Stream): void => {
    open.add(s);
    // A reset (by us or the remote) surfaces as 'error': never let it go unhandled.
    s.on('error', ignore);
    s.once('close', () => open.delete(s));
  };

  const onStream = createInboundHandler({
    handler: () => handler,
    networkHex,
    maxBytes,
    maxInbound,
    reporter,
    log,
    track,
  });

  // ---- outbound: one channel per connection ----

  const closeChannel = (ch: Channel, err: Error): void => {
    if (ch.closed) return;
    ch.closed = true;
    if (channels.get(ch.connection) === ch) channels.delete(ch.connection);
    for (const p of ch.pending.values()) {
      p.timer.cancel();
      p.reject(err);
    }
    ch.pending.clear();
  };

  const openChannel = async (connection: Connection, signal: AbortSignal): Promise<Channel> => {
    let stream: Stream;
    try {
      stream = await connection.newStream(protocol, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DhtUnreachableError('The peer does not serve this DHT', { cause: err });
    }
    track(stream);
    const ch: Channel = { connection, stream, pending: new Map(), nextId: 1, closed: false };
    const fail = (err: unknown): void => {
      stream.reset();
      closeChannel(
        ch,
        err instanceof ProtocolError || err instanceof DhtInvalidResponseError
          ? new DhtInvalidResponseError('Malformed response', { cause: err })
          : new DhtUnreachableError('The stream failed', { cause: err }),
      );
    };
    frames(
      stream,
      MessageType.DhtResponse,
      maxBytes,
      (body) => {
        let response: DhtResponse;
        try {
          response = DhtResponse.decode(body);
        } catch (err) {
          fail(err);
          return;
        }
        const p = ch.pending.get(response.requestId);
        if (p === undefined) return; // a late answer to a request that timed out
        ch.pending.delete(response.requestId);
        p.timer.cancel();
        p.resolve(response);
      },
      fail,
    );
    stream.once('close', () => closeChannel(ch, new DhtUnreachableError('The stream closed')));
    stream.once('end', () => closeChannel(ch, new DhtUnreachableError('The stream ended')));
    return ch;
  };

  const channelFor = async (connection: Connection, signal: AbortSignal): Promise<Channel> => {
    const existing = channels.get(connection);
    if (existing !== undefined && !existing.closed && connection.status === 'open') return existing;
    let p = opening.get(connection);
    if (p === undefined) {
      p = openChannel(connection, signal).finally(() => opening.delete(connection));
      opening.set(connection, p);
    }
    const ch = await p;
    channels.set(connection, ch);
    connection.onClose(() => closeChannel(ch, new DhtUnreachableError('The connection closed')));
    return ch;
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
      if (stopped) throw new DhtUnreachableError('The network is stopped');
      const ac = new AbortController();
      let timedOut = false;
      const dialTimer = clock.setTimeout(() => {
        timedOut = true;
        ac.abort(new DhtTimeoutError());
      }, timeoutMs);
      const started = clock.now();
      let connection: Connection;
      let ch: Channel;
      try {
        connection = await connect(target, ac.signal);
        if (target.peer !== undefined && !connection.remotePeer.equals(target.peer))
          throw new DhtUnreachableError('Another peer answered');
        if (connection.remote.networkId !== networkHex)
          throw new DhtUnreachableError('The peer belongs to another network');
        ch = await channelFor(connection, ac.signal);
      } catch (err) {
        if (timedOut) throw new DhtTimeoutError(undefined, { cause: err });
        if (err instanceof DhtUnreachableError) throw err;
        throw new DhtUnreachableError('The request failed', { cause: err });
      } finally {
        dialTimer.cancel();
      }
      if (ch.pending.size >= maxPending)
        throw new DhtUnreachableError('Too many requests in flight');
      const id = ch.nextId;
      ch.nextId = (ch.nextId % 0xffff_fffe) + 1;
      const frame = encodeFrame(
        MessageType.DhtRequest,
        { ...request, requestId: id },
        { maxFrameBytes: maxBytes },
      );
      const response = await new Promise<DhtResponse>((resolve, reject) => {
        const left = Math.max(1, timeoutMs - (clock.now() - started));
        const timer = clock.setTimeout(() => {
          ch.pending.delete(id);
          reject(new DhtTimeoutError());
        }, left);
        ch.pending.set(id, { id, resolve, reject, timer });
        ch.stream.write(frame);
      });
      return {
        peer: connection.remotePeer,
        address: connection.remoteAddress,
        response: { ...response, requestId: request.requestId },
      };
    },
    stop() {
      stopped = true;
      if (handler !== undefined) dialer.unhandle(protocol);
      handler = undefined;
      for (const ch of [...channels.values()]) closeChannel(ch, new DhtUnreachableError('Stopped'));
      for (const s of open) s.reset();
      open.clear();
    },
  };
}
