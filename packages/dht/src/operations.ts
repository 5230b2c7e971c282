// The lookups behind the public API: closest peers to an id, a record by key, and storing a
// record at the k closest peers.
import type { PeerId } from '@detr/interface';
import { DhtStatus, type SignedEnvelope } from '@detr/protocol';
import type { Ctx } from './context.js';
import { commonPrefixLength, compareDistance, kadIdOfPeer } from './keys.js';
import { lookup, type LookupPeer, type LookupResult, type LookupStats } from './query/lookup.js';
import { namespaceOf, openRecord, supersedes, type DhtRecordView } from './records/record.js';
import { SELF } from './records/store.js';
import { InvalidRecordError } from './errors.js';
import { findNode, findValue, store, type FindValueAnswer } from './rpc/client.js';

function touch(ctx: Ctx, id: Uint8Array): void {
  const cpl = Math.min(commonPrefixLength(id, ctx.selfId), ctx.touched.length - 1);
  ctx.touched[cpl] = ctx.clock.now();
}

function seeds(ctx: Ctx, id: Uint8Array): LookupPeer[] {
  return ctx.table.closest(id, ctx.cfg.k);
}

/**
 * Iterative FIND_NODE for `id`. With `until`, the lookup ends as soon as that peer answers.
 *
 * @throws {AbortError} when `signal` aborts
 */
export function findClosest(
  ctx: Ctx,
  id: Uint8Array,
  options: {
    signal?: AbortSignal | undefined;
    until?: PeerId | undefined;
    /** Disjoint paths (default: the configured number). */
    paths?: number;
    /** Ends once this many closest candidates answered (default: k). */
    width?: number;
  } = {},
): Promise<LookupResult> {
  ctx.stats.lookups++;
  touch(ctx, id);
  const until = options.until;
  return lookup({
    target: id,
    self: ctx.selfId,
    seeds: seeds(ctx, id),
    k: options.width ?? ctx.cfg.k,
    alpha: ctx.cfg.alpha,
    paths: options.paths ?? ctx.cfg.disjointPaths,
    maxRequests: ctx.cfg.maxRequestsPerLookup,
    query: async (p) => ({ closer: await findNode(ctx, p, id) }),
    onAnswer: until === undefined ? undefined : (hit) => hit.peer.equals(until),
    signal: options.signal,
  });
}

/** The outcome of a record lookup. */
export interface RecordLookup {
  /** The record with the highest seq found (local copy included). */
  readonly best: DhtRecordView | undefined;
  /** Peers that answered with a valid record. */
  readonly holders: number;
  readonly stats: LookupStats;
}

/**
 * Iterative FIND_VALUE for `key`, ending once `quorum` peers answered with a valid record (the
 * local copy counts as one). Holders of an older seq are sent the newest record.
 *
 * @throws {AbortError} when `signal` aborts
 */
export async function findRecord(
  ctx: Ctx,
  key: Uint8Array,
  options: { quorum: number; signal?: AbortSignal | undefined },
): Promise<RecordLookup> {
  ctx.stats.lookups++;
  const id = ctx.locate(key);
  touch(ctx, id);
  const ns = namespaceOf(key);
  const validator = ns === undefined ? undefined : ctx.rules.validators.get(ns);
  let best: DhtRecordView | undefined;
  let holders = 0;
  let bestHop = 0;
  const local = ctx.records.get(key);
  if (local !== undefined) {
    try {
      best = openRecord(local, ctx.rules, ctx.clock.now());
      holders++;
    } catch {
      // Expired or no longer valid under the current rules: ignore the local copy.
    }
  }
  const stale: LookupPeer[] = [];
  const answers = new Map<LookupPeer, number>();
  if (holders >= options.quorum) {
    return { best, holders, stats: { requests: 0, failures: 0, hops: 0 } };
  }
  const result = await lookup<FindValueAnswer>({
    target: id,
    self: ctx.selfId,
    seeds: seeds(ctx, id),
    k: ctx.cfg.k,
    alpha: ctx.cfg.alpha,
    paths: ctx.cfg.disjointPaths,
    maxRequests: ctx.cfg.maxRequestsPerLookup,
    query: (p) => findValue(ctx, p, key),
    onAnswer: (hit, answer) => {
      const r = answer.record;
      if (r === undefined) return false;
      holders++;
      answers.set(hit, r.seq);
      if (best === undefined || supersedes(validator, r, best)) {
        best = r;
        bestHop = hit.hop;
      }
      return holders >= options.quorum;
    },
    signal: options.signal,
  });
  const found = best;
  if (found !== undefined) {
    for (const [p, seq] of answers) if (seq < found.seq) stale.push(p);
    for (const p of stale) void storeTo(ctx, p, found.envelope);
  }
  const stats = { ...result.stats, hops: found === undefined ? result.stats.hops : bestHop };
  return { best: found, holders, stats };
}

/** The outcome of storing a record at the k closest peers. */
export interface StoreOutcome {
  /** Peers (and this node, if among the k closest) that hold it now. */
  stored: number;
  /** Peers that refused it as stale (they hold a higher seq). */
  stale: number;
  /** Peers that hold a record this one may not replace (the namespace's `mayReplace`). */
  denied: number;
  /** Peers that refused it for quota or any other reason. */
  refused: number;
  readonly stats: LookupStats;
}

/**
 * Finds the k closest peers to the record's key and sends them STORE; keeps a local copy when
 * this node is among them.
 */
export async function replicateRecord(
  ctx: Ctx,
  view: DhtRecordView,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<StoreOutcome> {
  const id = ctx.locate(view.key);
  const found = await findClosest(ctx, id, { signal: options.signal });
  const out: StoreOutcome = { stored: 0, stale: 0, denied: 0, refused: 0, stats: found.stats };
  const closest = found.closest;
  const selfAmongClosest =
    closest.length < ctx.cfg.k ||
    compareDistance(ctx.selfId, kadIdOfPeer((closest[closest.length - 1] as LookupPeer).peer), id) <
      0;
  if (selfAmongClosest) {
    try {
      await ctx.records.put(view, SELF);
      out.stored++;
    } catch (err) {
      if (err instanceof InvalidRecordError && err.reason === 'stale-seq') out.stale++;
      else if (err instanceof InvalidRecordError && err.reason === 'replace-refused') out.denied++;
      else out.refused++;
    }
  }
  await Promise.all(
    closest.map((p) =>
      storeTo(ctx, p, view.envelope).then((s) => {
        if (s === 'ok') out.stored++;
        else if (s === 'stale') out.stale++;
        else if (s === 'denied') out.denied++;
        else out.refused++;
      }),
    ),
  );
  return out;
}

/** STORE to one peer, never rejecting. */
export async function storeTo(
  ctx: Ctx,
  p: LookupPeer,
  envelope: SignedEnvelope,
): Promise<'ok' | 'stale' | 'denied' | 'refused' | 'failed'> {
  try {
    const { status, error } = await store(ctx, p, envelope);
    if (status === DhtStatus.DHT_STATUS_OK) return 'ok';
    if (error === 'stale-seq') return 'stale';
    return error === 'replace-refused' ? 'denied' : 'refused';
  } catch {
    return 'failed';
  }
}
