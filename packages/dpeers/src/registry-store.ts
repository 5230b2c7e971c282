// Persistence of the peer registry: entries written to the store in batches (only those that
// changed), bans written at once (expiring with the ban), and the registry loaded back on start,
// skipping unreadable entries.
import type { Clock, Logger, PeerId, Timer } from '@detr/interface';
import type { Namespace, Store } from '@detr/stored';
import type { Entry } from './entry.js';
import {
  BAN_PREFIX,
  PEER_PREFIX,
  banJsonCodec,
  fromJson,
  peerJsonCodec,
  toJson,
  type BanJson,
  type PeerJson,
} from './persist.js';

export class RegistryStore {
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly writes = new Set<Promise<unknown>>();
  private peersNs: Namespace<PeerJson> | undefined;
  private bansNs: Namespace<BanJson> | undefined;
  private timer: Timer | undefined;
  private running = false;

  constructor(
    private readonly store: Store | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly persistIntervalMs: number,
    private readonly parsePeerId: ((text: string) => PeerId) | undefined,
  ) {}

  /** Opens the namespaces, loads the persisted entries into `entries`, starts periodic flushes. */
  start(entries: Map<string, Entry>, flushEntries: () => ReadonlyMap<string, Entry>): void {
    if (this.running) return;
    this.running = true;
    if (this.store === undefined) return;
    this.peersNs = this.store.namespace('peers', peerJsonCodec);
    this.bansNs = this.store.namespace('peers', banJsonCodec);
    this.load(entries);
    this.schedule(flushEntries);
  }

  async stop(entries: ReadonlyMap<string, Entry>): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.flush(entries);
    await Promise.allSettled([...this.writes]);
  }

  /** `id` changed: write it at the next flush. */
  touch(id: string): void {
    this.dirty.add(id);
  }

  /** `id` left the registry: delete it at the next flush. */
  forget(id: string): void {
    this.dirty.delete(id);
    this.removed.add(id);
  }

  private load(entries: Map<string, Entry>): void {
    if (this.parsePeerId === undefined) {
      this.log.warn('no peerIdFromString: persisted peers are not loaded');
      return;
    }
    let loaded = 0;
    let skipped = 0;
    // Read raw bytes and decode each entry here, so one malformed entry is skipped, not fatal.
    // (Damaged bytes make the store throw StoreCorruptedError, which is not ours to swallow.)
    const raw = (this.store as Store).namespace('peers');
    for (const { value } of raw.scan({ prefix: PEER_PREFIX })) {
      try {
        const j = peerJsonCodec.decode(value);
        if (entries.has(j.id)) continue;
        const peer = this.parsePeerId(j.id);
        if (peer.toString() !== j.id) throw new TypeError('id does not round-trip');
        entries.set(j.id, fromJson(j, peer));
        loaded++;
      } catch {
        skipped++;
      }
    }
    if (skipped > 0) this.log.warn({ skipped }, 'skipped unreadable peer entries');
    this.log.debug({ loaded }, 'peer registry loaded');
  }

  private schedule(entries: () => ReadonlyMap<string, Entry>): void {
    if (!this.running || this.store === undefined || this.persistIntervalMs === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush(entries())
        .catch((err: unknown) => this.log.error({ err }, 'peer registry flush failed'))
        .finally(() => this.schedule(entries));
    }, this.persistIntervalMs);
  }

  private track(p: Promise<unknown>): void {
    const done = (): void => {
      this.writes.delete(p);
    };
    this.writes.add(p);
    p.then(done, (err: unknown) => {
      done();
      this.log.error({ err }, 'peer store write failed');
    });
  }

  /** Writes the entries that changed and deletes those removed since the last flush. */
  async flush(entries: ReadonlyMap<string, Entry>): Promise<void> {
    const ns = this.peersNs;
    if (ns === undefined || this.store === undefined) return;
    if (this.dirty.size === 0 && this.removed.size === 0) return;
    const batch = this.store.batch();
    for (const id of this.dirty) {
      const e = entries.get(id);
      if (e !== undefined) batch.put(ns, PEER_PREFIX + id, toJson(e));
    }
    for (const id of this.removed) if (!entries.has(id)) batch.delete(ns, PEER_PREFIX + id);
    this.dirty.clear();
    this.removed.clear();
    const p = batch.commit();
    this.track(p);
    await p;
  }

  /** Persists a ban at once (it expires with the ban). */
  saveBan(e: Entry, untilMs: number, reason: string): void {
    if (this.bansNs === undefined) return;
    const ban: BanJson = { v: 1, id: e.id, until: untilMs, why: reason };
    this.track(this.bansNs.put(BAN_PREFIX + e.id, ban, { expiresAtMs: untilMs }));
  }

  deleteBan(id: string): void {
    if (this.bansNs !== undefined) this.track(this.bansNs.delete(BAN_PREFIX + id));
  }

  /** A stored, unexpired ban of `id` (for entries evicted from memory). */
  hasBan(id: string): boolean {
    try {
      return this.bansNs?.has(BAN_PREFIX + id) ?? false;
    } catch (err) {
      this.log.error({ err }, 'reading a stored ban failed');
      return false;
    }
  }
}
