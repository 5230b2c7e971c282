import type { Duplex } from 'node:stream';
import type { Address } from './address.js';
import { DetrError } from './errors.js';
import type { AbortOptions } from './lifecycle.js';
import type { PeerId } from './peer-id.js';

/** Which side opened a connection or stream. */
export type Direction = 'inbound' | 'outbound';

/**
 * One multiplexed stream: a Node duplex with backpressure (`write()` returning false, `'drain'`).
 *
 * - `end()` half-closes our side: the remote reads to its end, and may keep writing to us.
 * - `reset()` abruptly closes both sides and tells the remote, whose stream errors with
 *   {@link StreamResetError}.
 * - Errors (remote reset, refusal, connection loss) destroy the stream with a typed error: reads
 *   and `for await` reject with it, `stream.errored` holds it. The stream always has an `'error'`
 *   listener of its own, so an unhandled stream error never crashes the process.
 * - A stream's receive buffer is bounded by its flow-control window: a reader that stops reading
 *   slows only its own stream's writer.
 */
export interface Stream extends Duplex {
  /** Connection-unique stream id. */
  readonly id: number;
  /** The protocol selected when the stream was opened, e.g. `/detr/dht/1`. */
  readonly protocol: string;
  readonly direction: Direction;
  /** True when only the opener sends: its readable side and the acceptor's writable side end at once. */
  readonly unidirectional: boolean;
  /** Aborts both directions at once and sends a reset to the remote. */
  reset(reason?: Error): void;
}

/** Options of {@link Connection.newStream}. */
export interface NewStreamOptions extends AbortOptions {
  /**
   * Open a stream on which only we send.
   *
   * @default false
   */
  unidirectional?: boolean;
}

/** Counters of one connection. */
export interface ConnectionStats {
  /** Application and control bytes sent (before encryption). */
  bytesSent: number;
  /** Application and control bytes received (after decryption). */
  bytesReceived: number;
  /** Streams opened over the connection's life, both directions. */
  streamsOpened: number;
  /** Latest keepalive round trip in milliseconds (fractional), once measured. */
  rttMs: number | undefined;
}

/** What an authenticated peer presented in its handshake. */
export interface RemoteInfo {
  readonly peer: PeerId;
  /** Protocol version both sides agreed on. */
  readonly protocolVersion: number;
  /** Features the remote advertised. */
  readonly features: readonly string[];
  /** The network the connection belongs to (hex of the network id). */
  readonly networkId: string;
}

export type ConnectionStatus = 'open' | 'closing' | 'closed';

/**
 * An authenticated, encrypted, multiplexed connection to one peer. Nothing is handed to
 * application code before the remote completed the handshake, presented a valid network token
 * and passed the {@link ConnectionGate} (`./peers.ts`).
 */
export interface Connection {
  readonly id: string;
  readonly remotePeer: PeerId;
  readonly remote: RemoteInfo;
  readonly remoteAddress: Address;
  readonly direction: Direction;
  /** `'tcp' | 'quic' | 'memory' | 'webrtc'`. */
  readonly transport: string;
  readonly status: ConnectionStatus;
  /**
   * Opens a stream speaking `protocol`. It resolves without waiting for the remote (the open
   * travels with the first bytes written); if the remote has no handler for `protocol` or refuses
   * the stream, the stream then errors with {@link UnknownProtocolError} or
   * {@link StreamRefusedError}.
   *
   * @throws {StreamLimitError} when this side already has its maximum of open outbound streams
   * @throws {ClosedError} when the connection is closing or closed
   * @throws {AbortError} when `options.signal` aborts first
   */
  newStream(protocol: string, options?: NewStreamOptions): Promise<Stream>;
  /** The streams open now. */
  streams(): readonly Stream[];
  stats(): ConnectionStats;
  /**
   * Closes the connection after it has had no open stream for `timeoutMs`; 0 disables it (the
   * connection manager does that for peers it keeps alive).
   *
   * @throws {RangeError} for a negative or non-finite value
   */
  setIdleTimeout(timeoutMs: number): void;
  /** Stops new streams, lets open ones finish (bounded by the signal), then closes. */
  close(options?: AbortOptions): Promise<void>;
  /** Closes at once; open streams error with `err` (or a {@link ClosedError}). */
  abort(err?: Error): void;
  /**
   * Called once when the connection closes, with the error if it failed (a graceful close by
   * either side, an idle close or `close()` pass none). A listener added after the close runs at
   * once.
   */
  onClose(listener: (err?: Error) => void): void;
}

/** Handles an inbound stream of a registered protocol. Errors it throws reset the stream. */
export type StreamHandler = (stream: Stream, connection: Connection) => void | Promise<void>;

/** Looks up the handler of an inbound stream's protocol. */
export interface StreamRegistry {
  handler(protocol: string): StreamHandler | undefined;
}

/** Options for dialing. */
export interface DialOptions extends AbortOptions {
  /** If set, the handshake fails unless the remote proves this identity. */
  expectedPeer?: PeerId;
}

/** A listening endpoint. */
export interface Listener {
  /** The addresses actually bound (ports resolved). */
  addresses(): readonly Address[];
  /** Stops accepting; connections already accepted stay open. */
  close(): Promise<void>;
}

/** Where a transport hands the connections it accepted. */
export type ConnectionHandler = (connection: Connection) => void;

/** A way to reach peers: TCP, QUIC, in-memory, WebRTC. */
export interface Transport {
  /** `'tcp' | 'quic' | 'memory' | 'webrtc'`. */
  readonly name: string;
  /** True when this transport can dial `address`. */
  canDial(address: Address): boolean;
  /**
   * Connects, authenticates and returns a ready connection.
   *
   * @throws {AbortError} when `options.signal` aborts first; nothing stays open
   */
  dial(address: Address, options?: DialOptions): Promise<Connection>;
  listen(address: Address, onConnection: ConnectionHandler): Promise<Listener>;
  /** Closes every listener and connection of this transport. */
  close(): Promise<void>;
}

/**
 * The remote reset the stream (or we did, with `reset()`).
 *
 * @example
 * ```ts
 * stream.on('error', (err) => { if (err instanceof StreamResetError && err.remote) retry() })
 * ```
 */
export class StreamResetError extends DetrError {
  /** True when the remote sent the reset. */
  readonly remote: boolean;
  constructor(message = 'The stream was reset', remote = true, options?: { cause?: unknown }) {
    super(message, 'STREAM_RESET', options);
    this.name = 'StreamResetError';
    this.remote = remote;
  }
}

/**
 * The remote has no handler for the stream's protocol.
 *
 * @example
 * ```ts
 * if (err instanceof UnknownProtocolError) console.log(`peer does not speak ${err.protocol}`)
 * ```
 */
export class UnknownProtocolError extends DetrError {
  readonly protocol: string;
  constructor(protocol: string, options?: { cause?: unknown }) {
    super(
      `The remote has no handler for protocol ${JSON.stringify(protocol)}`,
      'UNKNOWN_PROTOCOL',
      options,
    );
    this.name = 'UnknownProtocolError';
    this.protocol = protocol;
  }
}

/**
 * The remote refused the stream: its limit of concurrent streams from us is reached, or it is
 * shutting down.
 *
 * @example
 * ```ts
 * if (err instanceof StreamRefusedError) await sleep(clock, 100)
 * ```
 */
export class StreamRefusedError extends DetrError {
  constructor(message = 'The remote refused the stream', options?: { cause?: unknown }) {
    super(message, 'STREAM_REFUSED', options);
    this.name = 'StreamRefusedError';
  }
}

/**
 * This side already has its maximum of open outbound streams of that kind on the connection.
 *
 * @example
 * ```ts
 * try { await conn.newStream('/x/1') } catch (err) { if (err instanceof StreamLimitError) wait() }
 * ```
 */
export class StreamLimitError extends DetrError {
  readonly limit: number;
  constructor(limit: number, options?: { cause?: unknown }) {
    super(`Too many open outbound streams (limit ${limit})`, 'STREAM_LIMIT', options);
    this.name = 'StreamLimitError';
    this.limit = limit;
  }
}

/**
 * The remote broke the transport protocol (a malformed or hostile frame, a flow-control
 * violation); the connection was closed. `cause` holds the decoder's error, if any.
 *
 * @example
 * ```ts
 * conn.onClose((err) => { if (err instanceof ProtocolViolationError) log.warn(err.message) })
 * ```
 */
export class ProtocolViolationError extends DetrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'PROTOCOL_VIOLATION', options);
    this.name = 'ProtocolViolationError';
  }
}
