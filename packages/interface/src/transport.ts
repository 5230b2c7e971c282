import type { Duplex } from 'node:stream';
import type { Address } from './address.js';
import type { AbortOptions } from './lifecycle.js';
import type { PeerId } from './peer-id.js';

/** Which side opened a connection or stream. */
export type Direction = 'inbound' | 'outbound';

/**
 * One multiplexed stream: a Node duplex with backpressure (`write()` returning false, `'drain'`).
 * `end()` half-closes our side; `reset()` abruptly closes both sides and tells the remote.
 */
export interface Stream extends Duplex {
  /** Connection-unique stream id. */
  readonly id: number;
  /** The protocol selected when the stream was opened, e.g. `/detr/dht/1`. */
  readonly protocol: string;
  readonly direction: Direction;
  /** Aborts both directions at once and sends a reset to the remote. */
  reset(reason?: Error): void;
}

/** Counters of one connection. */
export interface ConnectionStats {
  bytesSent: number;
  bytesReceived: number;
  streamsOpened: number;
  /** Latest keepalive round trip, if measured. */
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
 * application code before the remote completed the handshake and presented a valid token.
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
  /** Opens a stream speaking `protocol`; rejects if the remote does not handle it. */
  newStream(protocol: string, options?: AbortOptions): Promise<Stream>;
  /** The streams open now. */
  streams(): readonly Stream[];
  stats(): ConnectionStats;
  /** Stops new streams, lets open ones finish (bounded by the signal), then closes. */
  close(options?: AbortOptions): Promise<void>;
  /** Closes at once; open streams error with `err`. */
  abort(err?: Error): void;
  /** Called once when the connection closes, with the error if it failed. */
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
  dial(address: Address, options?: DialOptions): Promise<Connection>;
  listen(address: Address, onConnection: ConnectionHandler): Promise<Listener>;
  /** Closes every listener and connection of this transport. */
  close(): Promise<void>;
}
