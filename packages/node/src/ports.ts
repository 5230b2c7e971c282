// What the node needs from the packages it composes, as narrow contracts. The composition
// (`createNode`) fills them with @detr/transport, @detr/dht and @detr/nat where those exist, and
// with the interim implementations of this package otherwise; tests inject fakes.
import type {
  AbortOptions,
  Address,
  Connection,
  PeerId,
  StreamHandler,
  Startable,
} from '@detr/interface';

/** Events of a {@link ConnectionManager}. */
export interface ConnectionEvents {
  'connection:open': Connection;
  'connection:close': Connection;
}

/**
 * The connection manager contract the node uses: one connection per peer reused by every
 * caller, stream protocols registered by name, open/close events.
 */
export interface ConnectionManager extends Startable {
  /** Our own addresses (listening, resolved ports). */
  addresses(): readonly Address[];
  /**
   * A connection to `target`: an existing one, or a new dial. A PeerId target needs a known
   * address (from `addAddress`, discovery or the DHT).
   */
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
  /** Open connections (to `peer` only, when given). */
  connections(peer?: PeerId): readonly Connection[];
  /** Registers the handler of inbound streams of `protocol`. */
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** Remembers where `peer` can be reached. */
  addAddress(peer: PeerId, address: Address): void;
  on<E extends keyof ConnectionEvents>(event: E, fn: (c: ConnectionEvents[E]) => void): () => void;
}

/** The DHT contract the node uses. Keys and values are bytes; records are network-scoped. */
export interface DhtPort extends Startable {
  put(
    key: Uint8Array,
    value: Uint8Array,
    options?: { ttlSec?: number } & AbortOptions,
  ): Promise<void>;
  get(key: Uint8Array, options?: AbortOptions): Promise<Uint8Array | undefined>;
  /** Publishes our presence (addresses); refreshed by the implementation. */
  announce(options?: AbortOptions): Promise<void>;
  /** Resolves a peer's presence, or `undefined`. */
  findPeer(peer: PeerId, options?: AbortOptions): Promise<readonly Address[] | undefined>;
}
