// What a transport holds open, so that close() ends all of it: raw sockets until they close
// (dialing, handshaking), connections until theirs.
import type { Duplex } from 'node:stream';
import type { Connection } from '@detr/interface';

export class OpenSet {
  private readonly sockets = new Set<Duplex>();
  private readonly connections = new Set<Connection>();

  /** Holds `socket` until it closes. */
  track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Holds `conn` until it closes. */
  adopt(conn: Connection): void {
    this.connections.add(conn);
    conn.onClose(() => this.connections.delete(conn));
  }

  /** Aborts every connection with `reason`, then destroys every socket still open. */
  closeAll(reason: Error): void {
    for (const conn of this.connections) conn.abort(reason);
    for (const socket of this.sockets) socket.destroy();
  }
}
