// The connection manager's contract: its components, options, events and error.
import type {
  AbortOptions,
  Address,
  Clock,
  Connection,
  ConnectionTracker,
  Logger,
  PeerId,
  Rng,
  Startable,
  StreamHandler,
  Transport,
} from '@detr/interface';
import { DetrError } from '@detr/interface';
import type { MutableStreamRegistry } from '../registry.js';
import type { BackoffInit } from './backoff.js';

/** Events of a {@link ConnectionManager}. */
export interface ConnectionManagerEvents {
  'connection:open': Connection;
  'connection:close': Connection;
}

/** Injected dependencies of the connection manager. */
export interface ConnectionManagerComponents {
  /** Our own identity (it breaks ties between two connections to one peer). */
  peer: PeerId;
  /** The transports to dial and listen with (each handles the addresses of its `name`). */
  transports: readonly Transport[];
  /** The registry the transports dispatch inbound streams with; `handle()` registers into it. */
  registry: MutableStreamRegistry;
  /** @default noopConnectionTracker */
  tracker?: ConnectionTracker;
  /** @default systemClock */
  clock?: Clock;
  /** @default cryptoRng */
  rng?: Rng;
  /** @default noopLogger */
  logger?: Logger;
}

/** Options of the connection manager. */
export interface ConnectionManagerInit {
  /**
   * Addresses to listen on at `start()`.
   *
   * @default []
   */
  listen?: readonly Address[];
  /**
   * Time limit of one dial (every address tried, handshake included).
   *
   * @default 10000
   */
  dialTimeoutMs?: number;
  /**
   * Most time `stop()` lets open streams finish before closing connections anyway.
   *
   * @default 5000
   */
  closeTimeoutMs?: number;
  /** Reconnection timing of keep-alive peers. */
  reconnect?: BackoffInit;
  /**
   * Addresses remembered per peer (the most recent kept).
   *
   * @default 16
   */
  maxAddressesPerPeer?: number;
}

/** No transport could be tried: the peer has no known address a transport can dial. */
export class NoAddressError extends DetrError {
  constructor(peer: string) {
    super(`No dialable address known for ${peer}`, 'NO_ADDRESS');
    this.name = 'NoAddressError';
  }
}

/**
 * Connections to peers, one per peer. Implements the `ConnectionManager` port of `@detr/node`.
 */
export interface ConnectionManager extends Startable {
  /** The addresses we listen on (ports resolved). */
  addresses(): readonly Address[];
  /**
   * The connection to `target`: the open one, the dial in progress, or a new dial. A PeerId
   * target needs an address added with {@link addAddress} (or in the address itself).
   *
   * @throws {NoAddressError} when no known address can be dialed
   * @throws {TimeoutError} after `dialTimeoutMs`
   * @throws {AbortError} when `options.signal` aborts (other callers' dial continues)
   * @throws {NotStartedError} before `start()` or after `stop()`
   */
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
  /** Open connections (to `peer` only, when given). */
  connections(peer?: PeerId): readonly Connection[];
  /** Registers the handler of inbound streams of `protocol`. */
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** Remembers an address of `peer`. */
  addAddress(peer: PeerId, address: Address): void;
  /**
   * Keeps a connection to `peer` open (no idle timeout; reconnect with exponential backoff and
   * jitter when it closes), or stops doing so.
   */
  keepAlive(peer: PeerId, enabled?: boolean): void;
  /** Closes the connection to `peer` gracefully (streams finish first). */
  hangUp(peer: PeerId, options?: AbortOptions): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof ConnectionManagerEvents>(
    event: E,
    fn: (c: ConnectionManagerEvents[E]) => void,
  ): () => void;
}
