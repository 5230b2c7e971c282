// What the node's protocols (messaging, services, pub/sub) need from the connection manager, as a
// narrow contract: @detr/transport's manager fits it (the node wraps it so that dials by PeerId
// resolve through the DHT).
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
