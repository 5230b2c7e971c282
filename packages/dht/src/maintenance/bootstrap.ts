// Joining and staying joined: bootstrap from the configured addresses, the routing table saved
// in the store, and the node's peer store (dpeers), retried with exponential backoff while the
// table is empty; then a lookup of our own id and a refresh of every bucket. Afterwards a
// periodic tick sweeps expired records, re-replicates, refreshes idle buckets, and saves the
// routing table.
import {
  AbortError,
  sleep,
  type Address,
  type PeerId,
  type Timer,
  shutdownController,
} from '@detr/interface';
import { PeerInfo } from '@detr/protocol';
import type { Namespace, Store } from '@detr/stored';
import { TOUCHED_SLOTS, type Ctx } from '../context.js';
import { bytesKey, randomIdAtPrefix } from '../keys.js';
import { findClosest } from '../operations.js';
import { pingAddress } from '../rpc/client.js';
import type { RpcTarget } from '../rpc/network.js';
import { parseAddressList, parsePeerCached } from '../rpc/peers.js';
import type { Replicator } from './replication.js';

const TABLE_PREFIX = 0x02;
const PING_CONCURRENCY = 16;
const REFRESH_CONCURRENCY = 3;
const MAX_TICK_MS = 60_000;
const SNAPSHOT_TTL_MS = 7 * 24 * 3600 * 1000;

/** A source of previously known peers, e.g. `@detr/dpeers` (its `peers()` fits this shape). */
export interface DhtPeerSource {
  peers(): ReadonlyArray<{
    readonly peer: PeerId;
    readonly addresses: ReadonlyArray<{ readonly address: Address }>;
  }>;
}

export class Maintenance {
  readonly #ctx: Ctx;
  readonly #replicator: Replicator;
  readonly #source: DhtPeerSource | undefined;
  readonly #store: Store;
  readonly #ns: Namespace<Uint8Array>;
  readonly #prefix: Uint8Array;
  #shutdown = shutdownController();
  #tickTimer: Timer | undefined;
  #bootstrapping: Promise<void> | undefined;
  #dirty = false;
  #lastSaveMs = 0;
  /** Peers saved in the store (`bytesKey` of their binary form), as last written. */
  readonly #saved = new Set<string>();
  #ticking = false;

  constructor(ctx: Ctx, replicator: Replicator, store: Store, source: DhtPeerSource | undefined) {
    this.#ctx = ctx;
    this.#replicator = replicator;
    this.#source = source;
    this.#store = store;
    this.#ns = store.namespace('dht-records');
    this.#prefix = new Uint8Array(1 + ctx.cfg.networkId.length);
    this.#prefix[0] = TABLE_PREFIX;
    this.#prefix.set(ctx.cfg.networkId, 1);
  }

  /** The routing table changed (it will be saved on the next tick). */
  markDirty(): void {
    this.#dirty = true;
  }

  start(): void {
    this.#shutdown = shutdownController();
    this.#saved.clear();
    try {
      for (const e of this.#ns.scan({ prefix: this.#prefix })) {
        this.#saved.add(bytesKey(e.key.subarray(this.#prefix.length)));
      }
    } catch (err) {
      this.#ctx.log.debug({ err }, 'dht: cannot read the saved routing table');
    }
    this.#scheduleTick();
    this.kick();
  }

  /** Starts the bootstrap loop unless it runs already. */
  kick(): void {
    if (this.#bootstrapping !== undefined || !this.#ctx.running) return;
    if (this.#targets().length === 0) return;
    this.#bootstrapping = this.#loop().finally(() => {
      this.#bootstrapping = undefined;
    });
  }

  /** Resolves when the current bootstrap loop (if any) ends. */
  settled(): Promise<void> {
    return this.#bootstrapping ?? Promise.resolve();
  }

  async #loop(): Promise<void> {
    const ctx = this.#ctx;
    let delay = ctx.cfg.bootstrapRetryMinMs;
    const signal = this.#shutdown.signal;
    while (ctx.running && !signal.aborted) {
      const n = await this.#round(signal).catch(() => 0);
      if (n > 0 || !ctx.running) return;
      try {
        await sleep(ctx.clock, delay, { signal });
      } catch {
        return;
      }
      delay = Math.min(delay * 2, ctx.cfg.bootstrapRetryMaxMs);
    }
  }

  #targets(): Array<RpcTarget & { expect?: string }> {
    const ctx = this.#ctx;
    const out: Array<RpcTarget & { expect?: string }> = [];
    const seen = new Set<string>();
    for (const a of ctx.cfg.bootstrap) {
      out.push(a.peer === undefined ? { addresses: [a] } : { addresses: [a], expect: a.peer });
    }
    const push = (peer: PeerId, addresses: readonly Address[]): void => {
      const k = bytesKey(peer.publicKey);
      if (seen.has(k) || peer.equals(ctx.self) || addresses.length === 0) return;
      if (out.length >= ctx.cfg.bootstrap.length + ctx.cfg.persistMaxPeers) return;
      seen.add(k);
      out.push({ peer, addresses });
    };
    try {
      for (const e of this.#ns.scan({ prefix: this.#prefix, limit: ctx.cfg.persistMaxPeers })) {
        try {
          const info = PeerInfo.decode(e.value);
          const peer = parsePeerCached(ctx.peerIds, info.peer);
          if (peer !== undefined) push(peer, parseAddressList(info.addresses));
        } catch {
          // A damaged entry: skip it (it expires on its own).
        }
      }
    } catch (err) {
      ctx.log.debug({ err }, 'dht: cannot read the saved routing table');
    }
    for (const p of this.#source?.peers() ?? [])
      push(
        p.peer,
        p.addresses.map((a) => a.address),
      );
    return out;
  }

  /**
   * One bootstrap round (or, while the background loop runs, the end of that loop): pings every
   * known peer, then looks up our own id and refreshes the buckets. Resolves to the routing
   * table's size.
   */
  async bootstrap(signal?: AbortSignal): Promise<number> {
    if (this.#bootstrapping !== undefined && signal !== this.#shutdown.signal) {
      await this.#bootstrapping;
      return this.#ctx.table.size;
    }
    return this.#round(signal);
  }

  async #round(signal?: AbortSignal): Promise<number> {
    const ctx = this.#ctx;
    const targets = this.#targets();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length && ctx.running && signal?.aborted !== true) {
        const t = targets[next++] as RpcTarget & { expect?: string };
        const peer = await pingAddress(ctx, t);
        if (peer !== undefined && t.expect !== undefined && peer.toString() !== t.expect) {
          ctx.table.remove(peer, 'unexpected-peer');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PING_CONCURRENCY, targets.length) }, worker));
    if (ctx.table.size === 0 || !ctx.running) return ctx.table.size;
    await this.join(signal);
    return ctx.table.size;
  }

  /** Looks up our own id, then (with `refreshOnJoin`) one random id in every bucket. */
  async join(signal?: AbortSignal): Promise<void> {
    const ctx = this.#ctx;
    await findClosest(ctx, ctx.selfId, { signal });
    if (ctx.cfg.refreshOnJoin) await this.#refresh(true, signal);
  }

  async #refresh(all: boolean, signal?: AbortSignal): Promise<void> {
    const ctx = this.#ctx;
    const now = ctx.clock.now();
    const due = ctx.table
      .bucketPrefixLengths()
      .filter((cpl) => cpl < TOUCHED_SLOTS - 1)
      .filter((cpl) => all || now - (ctx.touched[cpl] ?? 0) >= ctx.cfg.refreshIntervalMs);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length && ctx.running && signal?.aborted !== true) {
        const cpl = due[next++] as number;
        // A refresh only gathers peers for one bucket: one path, and it ends once the closest
        // `refreshWidth` peers answered (each one that answers enters the bucket).
        await findClosest(ctx, randomIdAtPrefix(ctx.selfId, cpl, ctx.rng), {
          signal,
          paths: 1,
          width: ctx.cfg.refreshWidth,
        }).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REFRESH_CONCURRENCY, due.length) }, worker));
    if (
      !all &&
      now - (ctx.touched[TOUCHED_SLOTS - 1] ?? 0) >= ctx.cfg.refreshIntervalMs &&
      ctx.running
    ) {
      await findClosest(ctx, ctx.selfId, { signal }).catch(() => undefined);
    }
  }

  #scheduleTick(): void {
    const ctx = this.#ctx;
    const base = Math.min(MAX_TICK_MS, ctx.cfg.refreshIntervalMs, ctx.cfg.replicationIntervalMs);
    const delay = base * (0.9 + 0.2 * ctx.rng.random());
    this.#tickTimer = ctx.clock.setTimeout(() => {
      this.#tickTimer = undefined;
      if (!ctx.running) return;
      void this.#tick().finally(() => {
        if (ctx.running) this.#scheduleTick();
      });
    }, delay);
  }

  async #tick(): Promise<void> {
    const ctx = this.#ctx;
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      ctx.records.sweep();
      if (ctx.table.size === 0) this.kick();
      else {
        await this.#replicator.tick();
        if (this.#bootstrapping === undefined)
          await this.#refresh(false, this.#shutdown.signal).catch(() => undefined);
      }
      if (this.#dirty && ctx.clock.now() - this.#lastSaveMs >= ctx.cfg.persistIntervalMs)
        await this.save();
    } catch (err) {
      if (!(err instanceof AbortError)) ctx.log.debug({ err }, 'dht: maintenance tick failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** Writes the routing table's most recently seen peers to the store. */
  async save(): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx.cfg.persistRoutingTable) return;
    this.#dirty = false;
    this.#lastSaveMs = ctx.clock.now();
    const keep = ctx.table
      .contacts()
      .sort((a, b) => b.lastSeenMs - a.lastSeenMs)
      .slice(0, ctx.cfg.persistMaxPeers);
    const wanted = new Map(keep.map((c) => [bytesKey(c.peer.bytes), c]));
    try {
      const batch = this.#store.batch();
      // Only the difference with what is saved: peers that left the table, peers that entered.
      for (const k of this.#saved) {
        if (wanted.has(k)) continue;
        batch.delete(this.#ns, this.#keyOf(Buffer.from(k, 'latin1')));
        this.#saved.delete(k);
      }
      for (const [k, c] of wanted) {
        if (this.#saved.has(k)) continue;
        batch.put(
          this.#ns,
          this.#key(c.peer),
          PeerInfo.encode({ peer: c.peer.bytes, addresses: c.addressText.slice(0, 32) }),
          { ttlMs: SNAPSHOT_TTL_MS },
        );
        this.#saved.add(k);
      }
      if (batch.size > 0) await batch.commit();
    } catch (err) {
      this.#saved.clear();
      ctx.log.debug({ err }, 'dht: cannot save the routing table');
    }
  }

  #keyOf(peerBytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#prefix.length + peerBytes.length);
    out.set(this.#prefix, 0);
    out.set(peerBytes, this.#prefix.length);
    return out;
  }

  #key(peer: PeerId): Uint8Array {
    return this.#keyOf(peer.bytes);
  }

  async stop(): Promise<void> {
    this.#shutdown.abort();
    this.#tickTimer?.cancel();
    this.#tickTimer = undefined;
    await this.settled().catch(() => undefined);
    if (this.#dirty) await this.save();
  }
}
