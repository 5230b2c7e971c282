// Admission and connection accounting: the ConnectionGate checks (limits per direction, per IP,
// per subnet; bans; authorized sets; fullness), the ConnectionTracker bookkeeping, pruning of the
// lowest-value connections, and cutting the connections of banned or de-authorized peers.
import type { Address, Clock, Connection, Direction, Logger, PeerId } from '@detr/interface';
import { ConnectionCutError, ConnectionPrunedError } from './errors.js';
import { AuthorizedSets, IpCounts, Protections } from './gate-lists.js';
import { ipGroup, type IpGroup } from './subnet.js';
import type { RefusalReason } from './types.js';

export interface GateConfig {
  maxConnections: number;
  maxInboundConnections: number;
  maxOutboundConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerSubnet: number;
  limitLoopback: boolean;
  trackedAuthorizedSets: number;
  pruneCloseTimeoutMs: number;
}

/** What the gate asks the registry. */
export interface GatePeers {
  score(id: string): number;
  isBanned(id: string): boolean;
  connected(id: string, peer: PeerId, delta: 1 | -1): void;
}

export interface GateEvents {
  pruned(connection: Connection): void;
  cut(connection: Connection, reason: 'banned' | 'unauthorized'): void;
}

interface Tracked {
  id: string;
  direction: Direction;
  group: IpGroup | undefined;
  openedAtMs: number;
  /** Order of opening, to break ties between connections opened at the same time. */
  seq: number;
  closing: boolean;
}

/** Extra value of an outbound connection (we chose that peer). */
export const OUTBOUND_BONUS = 10;
/** A connection gains one point per minute open, up to this many. */
export const AGE_BONUS_MAX = 10;

export class Gate {
  private readonly conns = new Map<Connection, Tracked>();
  private readonly ips = new IpCounts();
  private readonly protections = new Protections();
  private readonly sets: AuthorizedSets;
  private inbound = 0;
  private outbound = 0;
  private closingCount = 0;
  private seq = 0;
  refused: Record<RefusalReason, number> = {
    banned: 0,
    unauthorized: 0,
    'inbound-limit': 0,
    'outbound-limit': 0,
    'ip-limit': 0,
    'subnet-limit': 0,
    full: 0,
  };
  pruned = 0;
  cutCount = 0;

  constructor(
    private readonly cfg: GateConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly peers: GatePeers,
    private readonly events: GateEvents,
  ) {
    this.sets = new AuthorizedSets(cfg.trackedAuthorizedSets);
  }

  private refuse(reason: RefusalReason): false {
    this.refused[reason]++;
    return false;
  }

  private limited(g: IpGroup | undefined): g is IpGroup {
    return g !== undefined && (this.cfg.limitLoopback || !g.loopback);
  }

  private ipRefusal(remote: Address): RefusalReason | undefined {
    const g = ipGroup(remote);
    if (!this.limited(g)) return undefined;
    if (this.ips.ip(g) >= this.cfg.maxConnectionsPerIp) return 'ip-limit';
    if (this.ips.subnet(g) >= this.cfg.maxConnectionsPerSubnet) return 'subnet-limit';
    return undefined;
  }

  // ---- authorized sets ----

  isAuthorizedId(id: string): boolean {
    return this.sets.has(id);
  }

  /** @throws {RangeError} for an invalid epoch or one older than the latest */
  setAuthorized(epoch: number, peers: readonly PeerId[]): void {
    this.sets.set(epoch, peers);
    for (const [conn, t] of [...this.conns]) {
      if (!this.isAuthorizedId(t.id)) this.cut(conn, 'unauthorized');
    }
  }

  clearAuthorized(): void {
    this.sets.clear();
  }

  // ---- protection ----

  protect(id: string, tag: string): void {
    this.protections.add(id, tag);
  }

  unprotect(id: string, tag: string): void {
    this.protections.delete(id, tag);
  }

  protectedBy(id: string): string[] {
    return this.protections.of(id);
  }

  isProtected(id: string): boolean {
    return this.protections.has(id);
  }

  // ---- ConnectionGate ----

  allowInbound(remote: Address): boolean {
    if (this.inbound >= this.cfg.maxInboundConnections) return this.refuse('inbound-limit');
    const r = this.ipRefusal(remote);
    return r === undefined ? true : this.refuse(r);
  }

  allowDial(address: Address, peer?: PeerId): boolean {
    const id = peer?.toString() ?? address.peer;
    if (id !== undefined) {
      if (this.peers.isBanned(id)) return this.refuse('banned');
      if (!this.isAuthorizedId(id)) return this.refuse('unauthorized');
    }
    if (this.outbound >= this.cfg.maxOutboundConnections) return this.refuse('outbound-limit');
    const r = this.ipRefusal(address);
    return r === undefined ? true : this.refuse(r);
  }

  allowPeer(peer: PeerId, direction: Direction, _remote: Address): boolean {
    const id = peer.toString();
    if (this.peers.isBanned(id)) return this.refuse('banned');
    if (!this.isAuthorizedId(id)) return this.refuse('unauthorized');
    if (this.total() >= this.cfg.maxConnections && !this.isProtected(id)) {
      // Full: admit only a peer worth more than the connection pruning would close.
      const lowest = this.victims(1)[0];
      const value = this.peers.score(id) + (direction === 'outbound' ? OUTBOUND_BONUS : 0);
      if (lowest === undefined || value <= this.value(lowest[0], lowest[1]))
        return this.refuse('full');
    }
    return true;
  }

  // ---- ConnectionTracker ----

  total(): number {
    return this.conns.size - this.closingCount;
  }

  counts(): { inbound: number; outbound: number; total: number } {
    return { inbound: this.inbound, outbound: this.outbound, total: this.conns.size };
  }

  connectionOpened(conn: Connection): void {
    if (this.conns.has(conn)) return;
    let id: string;
    try {
      id = conn.remotePeer.toString();
    } catch {
      return;
    }
    const t: Tracked = {
      id,
      direction: conn.direction,
      group: ipGroup(conn.remoteAddress),
      openedAtMs: this.clock.now(),
      seq: this.seq++,
      closing: false,
    };
    this.conns.set(conn, t);
    if (t.direction === 'inbound') this.inbound++;
    else this.outbound++;
    if (this.limited(t.group)) this.ips.add(t.group);
    this.peers.connected(id, conn.remotePeer, 1);
    try {
      conn.onClose(() => this.connectionClosed(conn));
    } catch {
      // a connection that cannot take listeners still gets connectionClosed from the manager
    }
    // Banned or de-authorized between allowPeer and now: cut at once.
    if (this.peers.isBanned(id)) this.cut(conn, 'banned');
    else if (!this.isAuthorizedId(id)) this.cut(conn, 'unauthorized');
    else if (this.total() > this.cfg.maxConnections) this.prune();
  }

  connectionClosed(conn: Connection): void {
    const t = this.conns.get(conn);
    if (t === undefined) return;
    this.conns.delete(conn);
    if (t.closing) this.closingCount--;
    if (t.direction === 'inbound') this.inbound--;
    else this.outbound--;
    if (this.limited(t.group)) this.ips.remove(t.group);
    this.peers.connected(t.id, conn.remotePeer, -1);
  }

  // ---- pruning and cutting ----

  /** Value of keeping a connection: reputation, +10 outbound, +1 per minute open (≤ 10). */
  value(_conn: Connection, t: Tracked): number {
    const ageMin = Math.max(0, this.clock.now() - t.openedAtMs) / 60_000;
    return (
      this.peers.score(t.id) +
      (t.direction === 'outbound' ? OUTBOUND_BONUS : 0) +
      Math.min(AGE_BONUS_MAX, ageMin)
    );
  }

  /** The `n` lowest-value prunable connections; among equals the newest goes first. */
  private victims(n: number): Array<[Connection, Tracked]> {
    const c = [...this.conns].filter(([, t]) => !t.closing && !this.isProtected(t.id));
    c.sort((a, b) => this.value(a[0], a[1]) - this.value(b[0], b[1]) || b[1].seq - a[1].seq);
    return c.slice(0, n);
  }

  private markClosing(t: Tracked): void {
    if (!t.closing) {
      t.closing = true;
      this.closingCount++;
    }
  }

  prune(): number {
    const over = this.total() - this.cfg.maxConnections;
    if (over <= 0) return 0;
    const victims = this.victims(over);
    for (const [conn, t] of victims) {
      this.markClosing(t);
      this.pruned++;
      this.log.debug({ peer: t.id }, 'pruning connection');
      this.events.pruned(conn);
      const ac = new AbortController();
      const timer = this.clock.setTimeout(() => ac.abort(), this.cfg.pruneCloseTimeoutMs);
      let closing: Promise<void>;
      try {
        closing = conn.close({ signal: ac.signal });
      } catch (err) {
        closing = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      closing
        .catch(() => {
          try {
            conn.abort(new ConnectionPrunedError());
          } catch {
            // already gone
          }
        })
        .finally(() => timer.cancel());
    }
    return victims.length;
  }

  private cut(conn: Connection, reason: 'banned' | 'unauthorized'): void {
    const t = this.conns.get(conn);
    if (t === undefined || t.closing) return;
    this.markClosing(t);
    this.cutCount++;
    this.events.cut(conn, reason);
    try {
      conn.abort(new ConnectionCutError(reason));
    } catch (err) {
      this.log.warn({ err }, 'aborting a connection failed');
    }
  }

  /** Cuts every open connection of `id` (it was banned). */
  cutPeer(id: string, reason: 'banned' | 'unauthorized'): void {
    for (const [conn, t] of [...this.conns]) if (t.id === id) this.cut(conn, reason);
  }

  connectionsOf(id: string): number {
    let n = 0;
    for (const t of this.conns.values()) if (t.id === id && !t.closing) n++;
    return n;
  }
}
