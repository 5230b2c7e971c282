// The peer registry with reputation and bans: a bounded map of entries keyed by the peer id's
// text (persisted by RegistryStore: entries in batches, bans at once).
import type { Address, Clock, Logger, PeerId, PenaltyReason } from '@detr/interface';
import type { Store } from '@detr/stored';
import {
  LATENCY_ALPHA,
  keepRank,
  newEntry,
  ownAddress,
  sanitizeProtocols,
  trimAddresses,
  type Entry,
} from './entry.js';
import { RegistryStore } from './registry-store.js';
import { banDurationMs, clampScore, decay, penaltyPoints, sanitizeWeight } from './reputation.js';
import type { AddressSource, PenaltyTable } from './types.js';

export interface RegistryConfig {
  maxKnownPeers: number;
  maxAddressesPerPeer: number;
  banThreshold: number;
  banBaseMs: number;
  banMaxMs: number;
  banCountResetMs: number;
  scoreHalfLifeMs: number;
  penalties: PenaltyTable;
  rewardPoints: number;
  persistIntervalMs: number;
}

export interface RegistryHooks {
  /** Entries that must not be evicted (connected, protected). */
  pinned(id: string): boolean;
  banned(entry: Entry, untilMs: number, reason: string): void;
  unbanned(entry: Entry): void;
}

export class Registry {
  readonly entries = new Map<string, Entry>();
  private readonly persisted: RegistryStore;
  counters = { evicted: 0, penalties: 0, rewards: 0, bans: 0 };

  constructor(
    private readonly cfg: RegistryConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly hooks: RegistryHooks,
    store: Store | undefined,
    parsePeerId: ((text: string) => PeerId) | undefined,
  ) {
    this.persisted = new RegistryStore(store, clock, log, cfg.persistIntervalMs, parsePeerId);
  }

  // ---- lifecycle and persistence ----

  start(): void {
    this.persisted.start(this.entries, () => this.entries);
    this.evictIfNeeded();
  }

  stop(): Promise<void> {
    return this.persisted.stop(this.entries);
  }

  flush(): Promise<void> {
    return this.persisted.flush(this.entries);
  }

  private touch(e: Entry): void {
    this.persisted.touch(e.id);
  }

  // ---- entries ----

  entry(peer: PeerId): Entry {
    const id = peer.toString();
    let e = this.entries.get(id);
    if (e === undefined) {
      e = newEntry(peer, this.clock.now());
      this.entries.set(id, e);
      this.touch(e);
      this.evictIfNeeded(id);
    }
    return e;
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  remove(id: string): void {
    if (this.entries.delete(id)) this.persisted.forget(id);
  }

  /** Evicts the least useful entries once over capacity, 1% of capacity at a time. */
  private evictIfNeeded(keep?: string): void {
    const max = this.cfg.maxKnownPeers;
    if (this.entries.size <= max) return;
    const now = this.clock.now();
    const want = Math.max(this.entries.size - max, Math.ceil(max / 100));
    const candidates: Array<[number, Entry]> = [];
    const banned: Entry[] = [];
    for (const e of this.entries.values()) {
      if (e.id === keep || this.hooks.pinned(e.id)) continue;
      if (this.bannedNow(e, now)) banned.push(e);
      else candidates.push([keepRank(e, this.scoreOf(e, now)), e]);
    }
    candidates.sort((a, b) => a[0] - b[0]);
    const victims = candidates.slice(0, want).map(([, e]) => e);
    if (victims.length < this.entries.size - max) {
      // Only banned (or pinned) entries left: drop the bans ending soonest from memory; their
      // stored ban record still refuses them (isBanned reads it).
      banned.sort((a, b) => (a.bannedUntilMs ?? 0) - (b.bannedUntilMs ?? 0));
      victims.push(...banned.slice(0, this.entries.size - max - victims.length));
    }
    for (const e of victims) {
      this.remove(e.id);
      this.counters.evicted++;
    }
  }

  // ---- addresses and metadata ----

  addAddresses(peer: PeerId, addresses: readonly Address[], source: AddressSource): void {
    const e = this.entry(peer);
    const now = this.clock.now();
    let changed = false;
    for (const raw of addresses) {
      const address = ownAddress(raw, e.id);
      if (address === undefined) continue;
      const key = address.toString();
      if (e.addresses.has(key)) continue;
      e.addresses.set(key, {
        address,
        source,
        addedAtMs: now,
        lastSuccessMs: undefined,
        lastFailureMs: undefined,
        failures: 0,
      });
      changed = true;
    }
    if (changed) {
      trimAddresses(e, this.cfg.maxAddressesPerPeer);
      this.touch(e);
    }
  }

  addressResult(peer: PeerId, raw: Address, ok: boolean): void {
    const e = this.entry(peer);
    const address = ownAddress(raw, e.id);
    if (address === undefined) return;
    const now = this.clock.now();
    const key = address.toString();
    let a = e.addresses.get(key);
    if (a === undefined) {
      if (!ok) return; // never store an address that only ever failed
      a = {
        address,
        source: 'manual',
        addedAtMs: now,
        lastSuccessMs: undefined,
        lastFailureMs: undefined,
        failures: 0,
      };
      e.addresses.set(key, a);
    }
    if (ok) {
      a.lastSuccessMs = now;
      a.failures = 0;
      e.lastSeenMs = now;
    } else {
      a.lastFailureMs = now;
      a.failures++;
    }
    trimAddresses(e, this.cfg.maxAddressesPerPeer);
    this.touch(e);
  }

  setProtocols(peer: PeerId, protocols: readonly string[]): void {
    const e = this.entry(peer);
    e.protocols = sanitizeProtocols(protocols);
    this.touch(e);
  }

  recordLatency(peer: PeerId, rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 3_600_000) return;
    const e = this.entry(peer);
    e.latencyMs =
      e.latencyMs === undefined ? rttMs : e.latencyMs + LATENCY_ALPHA * (rttMs - e.latencyMs);
    this.touch(e);
  }

  markSeen(peer: PeerId): void {
    const e = this.entry(peer);
    e.lastSeenMs = this.clock.now();
    this.touch(e);
  }

  // ---- reputation ----

  scoreOf(e: Entry, now = this.clock.now()): number {
    return decay(e.score, e.scoreAtMs, now, this.cfg.scoreHalfLifeMs);
  }

  scoreById(id: string): number {
    const e = this.entries.get(id);
    return e === undefined ? 0 : this.scoreOf(e);
  }

  private adjust(e: Entry, delta: number): number {
    const now = this.clock.now();
    e.score = clampScore(this.scoreOf(e, now) + delta);
    e.scoreAtMs = now;
    this.touch(e);
    return e.score;
  }

  penalize(peer: PeerId, reason: PenaltyReason, weight?: number): void {
    const points = penaltyPoints(this.cfg.penalties, reason) * sanitizeWeight(weight);
    const e = this.entry(peer);
    this.counters.penalties++;
    const score = this.adjust(e, -points);
    if (score <= -this.cfg.banThreshold && !this.bannedNow(e, this.clock.now())) {
      this.ban(e, undefined, reason);
    }
  }

  reward(peer: PeerId, weight?: number): void {
    const e = this.entry(peer);
    this.counters.rewards++;
    this.adjust(e, this.cfg.rewardPoints * sanitizeWeight(weight));
  }

  bannedNow(e: Entry, now: number): boolean {
    return e.bannedUntilMs !== undefined && e.bannedUntilMs > now;
  }

  /** Banned now, by id: the entry, or for an evicted entry the stored ban. */
  isBanned(id: string): boolean {
    const e = this.entries.get(id);
    if (e !== undefined) return this.bannedNow(e, this.clock.now());
    return this.persisted.hasBan(id);
  }

  bannedCount(): number {
    const now = this.clock.now();
    let n = 0;
    for (const e of this.entries.values()) if (this.bannedNow(e, now)) n++;
    return n;
  }

  ban(e: Entry, durationMs: number | undefined, reason: string): void {
    const now = this.clock.now();
    if (e.lastBanMs !== undefined && now - e.lastBanMs > this.cfg.banCountResetMs) e.banCount = 0;
    e.banCount++;
    e.lastBanMs = now;
    const length =
      durationMs !== undefined && Number.isFinite(durationMs) && durationMs > 0
        ? durationMs
        : banDurationMs(e.banCount, this.cfg.banBaseMs, this.cfg.banMaxMs);
    e.bannedUntilMs = Math.max(e.bannedUntilMs ?? 0, now + length);
    e.banReason = reason;
    this.counters.bans++;
    this.touch(e);
    this.persisted.saveBan(e, e.bannedUntilMs, reason);
    this.log.info(
      { peer: e.id, untilMs: e.bannedUntilMs, reason, count: e.banCount },
      'peer banned',
    );
    this.hooks.banned(e, e.bannedUntilMs, reason);
  }

  unban(peer: PeerId): void {
    const e = this.entry(peer);
    const was = this.bannedNow(e, this.clock.now());
    e.bannedUntilMs = undefined;
    e.banReason = undefined;
    // Lift the score out of ban range, or the next small penalty re-bans at once.
    if (this.scoreOf(e) <= -this.cfg.banThreshold)
      this.adjust(e, -this.scoreOf(e) - this.cfg.banThreshold / 2);
    this.touch(e);
    this.persisted.deleteBan(e.id);
    if (was) this.hooks.unbanned(e);
  }
}
