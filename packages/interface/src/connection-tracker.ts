import type { Connection } from './transport.js';

/**
 * Told about every connection the connection manager opens and closes, so that admission policy
 * can count connections, prune them and close them; `@detr/dpeers` implements it and
 * `@detr/node` wires the transport's connection manager to it.
 *
 * Contract for the connection manager:
 * - call {@link ConnectionTracker.connectionOpened} once a connection passed the gate
 *   (`ConnectionGate.allowPeer`) and completed its handshake, before handing it to the
 *   application;
 * - call {@link ConnectionTracker.connectionClosed} once when it closes (for any reason);
 * - accept that the tracker closes connections itself: `connection.close()` to prune (graceful),
 *   `connection.abort(err)` to cut a banned or no longer authorized peer at once. The manager sees
 *   this as an ordinary close.
 *
 * Both methods are synchronous and must not throw.
 */
export interface ConnectionTracker {
  connectionOpened(connection: Connection): void;
  connectionClosed(connection: Connection): void;
}

/** A tracker that ignores everything. */
export const noopConnectionTracker: ConnectionTracker = {
  connectionOpened: () => {},
  connectionClosed: () => {},
};
