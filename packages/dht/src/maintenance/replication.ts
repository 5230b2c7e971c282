// Keeping records alive:
// - the publisher re-signs each of its records with a fresh expiry and stores it again at the k
//   closest after `republishFraction` of its TTL;
// - a holder re-replicates each record it holds every `replicationIntervalMs`, unless a peer
//   stored it to us meanwhile (then someone else did the work: Kademlia's shortcut);
// - when a new peer enters the routing table and is among the k closest to records this node is
//   responsible for, they are sent to it (the closest set changed: churn).
import type { Timer } from '@detr/interface';
import type { Ctx } from '../context.js';
import { replicateRecord, storeTo } from '../operations.js';
import {
  openRecord,
  signRecord,
  type DhtRecordView,
  type RecordFields,
} from '../records/record.js';
import type { Contact } from '../routing/table.js';

const NEW_PEER_FLUSH_MS = 1000;
const MAX_NEW_PEER_STORES = 256;
const MAX_REPLICATIONS_PER_TICK = 16;

interface Published {
  fields: Omit<RecordFields, 'expiresAtMs'>;
  timer: Timer | undefined;
}

export class Replicator {
  readonly #ctx: Ctx;
  readonly #published = new Map<string, Published>();
  #newPeers: Contact[] = [];
  #flushTimer: Timer | undefined;
  #busy = false;

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }

  /** Records this node published and keeps alive. */
  get published(): number {
    return this.#published.size;
  }

  /** Remembers a record this node published, and schedules its republication. */
  track(view: DhtRecordView): void {
    const k = Buffer.from(view.key).toString('latin1');
    const prev = this.#published.get(k);
    prev?.timer?.cancel();
    const entry: Published = {
      fields: {
        key: view.key,
        value: view.value,
        seq: view.seq,
        ttlSec: view.ttlSec,
        networkId: view.networkId,
      },
      timer: undefined,
    };
    this.#published.set(k, entry);
    this.#schedule(k, entry);
  }

  /** Stops republishing `key`. */
  untrack(key: Uint8Array): void {
    const k = Buffer.from(key).toString('latin1');
    this.#published.get(k)?.timer?.cancel();
    this.#published.delete(k);
  }

  /** The seq of the record this node last published under `key`. */
  publishedSeq(key: Uint8Array): number | undefined {
    return this.#published.get(Buffer.from(key).toString('latin1'))?.fields.seq;
  }

  #schedule(k: string, entry: Published): void {
    const ctx = this.#ctx;
    const delay = entry.fields.ttlSec * 1000 * ctx.cfg.republishFraction;
    entry.timer = ctx.clock.setTimeout(() => {
      entry.timer = undefined;
      if (!ctx.running || this.#published.get(k) !== entry) return;
      void this.#republish(k, entry);
    }, delay);
  }

  async #republish(k: string, entry: Published): Promise<void> {
    const ctx = this.#ctx;
    try {
      const envelope = await signRecord(ctx.signer, {
        ...entry.fields,
        expiresAtMs: ctx.clock.now() + entry.fields.ttlSec * 1000,
      });
      const view = openRecord(envelope, ctx.rules, ctx.clock.now());
      await replicateRecord(ctx, view);
    } catch (err) {
      ctx.log.debug({ err }, 'dht: republish failed');
    }
    if (ctx.running && this.#published.get(k) === entry) this.#schedule(k, entry);
  }

  /** A peer entered the routing table. */
  peerAdded(contact: Contact): void {
    const ctx = this.#ctx;
    if (!ctx.cfg.replicateToNewPeers || ctx.records.size === 0 || !ctx.running) return;
    if (this.#newPeers.length >= 1024) return;
    this.#newPeers.push(contact);
    this.#flushTimer ??= ctx.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushNewPeers();
    }, NEW_PEER_FLUSH_MS);
  }

  #flushNewPeers(): void {
    const ctx = this.#ctx;
    const peers = this.#newPeers;
    this.#newPeers = [];
    if (!ctx.running) return;
    let sent = 0;
    const k = ctx.cfg.k;
    for (const h of ctx.records.records()) {
      // A holder hands a record to every new peer that is now among the k closest it knows, even
      // when that pushes the holder itself out of them (it is the one that knows it must go).
      const closest = ctx.table.closest(h.kadId, k);
      for (const p of peers) {
        if (sent >= MAX_NEW_PEER_STORES) return;
        if (ctx.table.getById(p.id) !== p || !closest.includes(p)) continue;
        const envelope = ctx.records.get(h.key);
        if (envelope === undefined) continue;
        sent++;
        void storeTo(ctx, p, envelope);
      }
    }
  }

  /** Re-replicates held records that nobody refreshed for `replicationIntervalMs`. */
  async tick(): Promise<void> {
    const ctx = this.#ctx;
    if (this.#busy || !ctx.running) return;
    this.#busy = true;
    try {
      const now = ctx.clock.now();
      const due = ctx.records
        .records()
        .filter(
          (h) =>
            now - Math.max(h.lastReceivedMs, h.lastReplicatedMs) >= ctx.cfg.replicationIntervalMs &&
            !this.#published.has(Buffer.from(h.key).toString('latin1')),
        )
        .slice(0, MAX_REPLICATIONS_PER_TICK);
      for (const h of due) {
        if (!ctx.running) break;
        h.lastReplicatedMs = now;
        const envelope = ctx.records.get(h.key);
        if (envelope === undefined) continue;
        try {
          await replicateRecord(ctx, openRecord(envelope, ctx.rules, ctx.clock.now()));
        } catch (err) {
          ctx.log.debug({ err }, 'dht: re-replication failed');
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Schedules republication of every tracked record again (after a restart). */
  resume(): void {
    for (const [k, p] of this.#published) if (p.timer === undefined) this.#schedule(k, p);
  }

  stop(): void {
    for (const p of this.#published.values()) {
      p.timer?.cancel();
      p.timer = undefined;
    }
    this.#flushTimer?.cancel();
    this.#flushTimer = undefined;
    this.#newPeers = [];
  }
}
