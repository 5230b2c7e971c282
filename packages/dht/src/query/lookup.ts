// The iterative Kademlia lookup over `d` disjoint paths (S/Kademlia): the k closest peers of the
// routing table are dealt to the paths in turn; each path queries its own closest unqueried
// candidates, α at a time, and ends when its k closest live candidates have all answered.
// A peer belongs to the first path that learned of it and is never queried by another, so one
// eclipsing neighbourhood cannot steer every path. Peers that fail are skipped.
import { AbortError, type Address, type PeerId } from '@detr/interface';
import { bytesEqual, bytesKey, compareDistance, distance48, kadIdOfPeer } from '../keys.js';

const ZERO = new Uint8Array(6);
const prefix48 = (id: Uint8Array): number => distance48(id, ZERO);

/** A peer a lookup can query. */
export interface LookupPeer {
  readonly peer: PeerId;
  readonly addresses: readonly Address[];
  /** The addresses as they came on the wire (kept so that they are shared, not re-encoded). */
  readonly addressText?: readonly string[] | undefined;
}

/** What querying one peer returned. */
export interface QueryAnswer {
  /** Peers it says are closer to the target. */
  readonly closer: readonly LookupPeer[];
}

interface Candidate extends LookupPeer {
  readonly id: Uint8Array;
  readonly key: number | string;
  readonly d48: number;
  readonly hop: number;
  readonly path: number;
  state: 'new' | 'pending' | 'ok' | 'failed';
}

/** A peer that answered, with the hop at which the lookup reached it (seeds are hop 1). */
export interface LookupHit extends LookupPeer {
  readonly hop: number;
}

/** Counters of one lookup. */
export interface LookupStats {
  /** Requests sent. */
  requests: number;
  /** Requests that failed (timeout, unreachable, invalid answer). */
  failures: number;
  /**
   * Hops to the answer that ended the lookup (when `onAnswer` stopped it), else to the closest
   * peer that answered; 0 when nobody answered.
   */
  hops: number;
}

export interface LookupResult {
  /** Up to k peers that answered, closest to the target first. */
  readonly closest: LookupHit[];
  readonly stats: LookupStats;
  /** True when `onAnswer` ended the lookup. */
  readonly stopped: boolean;
}

export interface LookupOptions<A extends QueryAnswer> {
  readonly target: Uint8Array;
  readonly self: Uint8Array;
  readonly seeds: readonly LookupPeer[];
  readonly k: number;
  readonly alpha: number;
  readonly paths: number;
  readonly maxRequests: number;
  /** Queries one peer; rejects when it failed. */
  query(peer: LookupPeer): Promise<A>;
  /** Sees every answer; returning true ends the lookup at once. */
  onAnswer?(hit: LookupHit, answer: A): boolean;
  readonly signal?: AbortSignal | undefined;
}

const MAX_CANDIDATES_FACTOR = 4;

/**
 * Runs one lookup.
 *
 * @throws {AbortError} when `signal` aborts
 */
export function lookup<A extends QueryAnswer>(o: LookupOptions<A>): Promise<LookupResult> {
  const { target, k, alpha } = o;
  const pathCount = Math.max(1, o.paths);
  const seen = new Map<number | string, Candidate>();
  const paths: Candidate[][] = Array.from({ length: pathCount }, () => []);
  const inflight = new Int32Array(pathCount);
  const stats: LookupStats = { requests: 0, failures: 0, hops: 0 };
  let stopped = false;
  let finished = false;
  let stopHop = 0;

  const before = (a: Candidate, b: Candidate): number =>
    a.d48 !== b.d48 ? a.d48 - b.d48 : compareDistance(a.id, b.id, target);

  const insert = (list: Candidate[], c: Candidate): void => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(list[mid] as Candidate, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, c);
    const max = k * MAX_CANDIDATES_FACTOR;
    if (list.length > max) {
      // Drop the farthest candidate not yet queried.
      for (let i = list.length - 1; i >= 0; i--) {
        if ((list[i] as Candidate).state === 'new') {
          seen.delete((list[i] as Candidate).key);
          list.splice(i, 1);
          break;
        }
      }
    }
  };

  const add = (p: LookupPeer, hop: number, path: number): boolean => {
    const id = kadIdOfPeer(p.peer);
    if (p.addresses.length === 0) return false;
    // Key on the id's first 48 bits; a (vanishingly rare) collision falls back to all bytes.
    let key: number | string = prefix48(id);
    const hit = seen.get(key);
    if (hit !== undefined) {
      if (bytesEqual(hit.id, id)) return false;
      key = bytesKey(id);
      if (seen.has(key)) return false;
    }
    if (bytesEqual(id, o.self)) return false;
    const c: Candidate = {
      peer: p.peer,
      addresses: p.addresses,
      addressText: p.addressText,
      id,
      key,
      d48: distance48(id, target),
      hop,
      path,
      state: 'new',
    };
    seen.set(key, c);
    insert(paths[path] as Candidate[], c);
    return true;
  };

  // Seeds, closest first, dealt to the paths in turn.
  const seeds = o.seeds
    .map((p) => ({ p, id: kadIdOfPeer(p.peer) }))
    .sort((a, b) => compareDistance(a.id, b.id, target));
  seeds.forEach(({ p }, i) => add(p, 1, i % pathCount));
  const everHad = paths.map((l) => l.length > 0);

  return new Promise<LookupResult>((resolve, reject) => {
    const onAbort = (): void => {
      if (finished) return;
      finished = true;
      reject(new AbortError(undefined, { cause: o.signal?.reason }));
    };
    if (o.signal?.aborted === true) {
      onAbort();
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      if (finished) return;
      finished = true;
      o.signal?.removeEventListener('abort', onAbort);
      const closest: LookupHit[] = [];
      for (const list of paths) for (const c of list) if (c.state === 'ok') closest.push(c);
      closest.sort((a, b) => before(a as Candidate, b as Candidate));
      closest.length = Math.min(closest.length, k);
      stats.hops = stopped ? stopHop : (closest[0]?.hop ?? 0);
      resolve({
        closest: closest.map((c) => ({ peer: c.peer, addresses: c.addresses, hop: c.hop })),
        stats,
        stopped,
      });
    };

    const pump = (path: number): void => {
      if (finished || stopped) return;
      const list = paths[path] as Candidate[];
      let live = 0;
      for (let i = 0; i < list.length && live < k && (inflight[path] as number) < alpha; i++) {
        const c = list[i] as Candidate;
        if (c.state === 'failed') continue;
        live++;
        if (c.state !== 'new') continue;
        if (stats.requests >= o.maxRequests) break;
        c.state = 'pending';
        inflight[path] = (inflight[path] as number) + 1;
        stats.requests++;
        o.query(c).then(
          (answer) => onAnswer(c, answer),
          () => onFailure(c),
        );
      }
    };

    const maybeDone = (): void => {
      if (finished) return;
      if (stopped) {
        finish();
        return;
      }
      for (let p = 0; p < pathCount; p++) if ((inflight[p] as number) > 0) return;
      finish();
    };

    const onAnswer = (c: Candidate, answer: A): void => {
      inflight[c.path] = (inflight[c.path] as number) - 1;
      if (finished) return;
      c.state = 'ok';
      const hit: LookupHit = { peer: c.peer, addresses: c.addresses, hop: c.hop };
      if (!stopped && o.onAnswer?.(hit, answer) === true) {
        stopped = true;
        stopHop = c.hop;
        finish();
        return;
      }
      for (const p of answer.closer) {
        // A path that never had a candidate adopts new peers until it has one.
        const starving = everHad.indexOf(false);
        const path = starving === -1 ? c.path : starving;
        if (add(p, c.hop + 1, path) && starving !== -1) everHad[starving] = true;
      }
      for (let p = 0; p < pathCount; p++) pump(p);
      maybeDone();
    };

    const onFailure = (c: Candidate): void => {
      inflight[c.path] = (inflight[c.path] as number) - 1;
      if (finished) return;
      c.state = 'failed';
      stats.failures++;
      pump(c.path);
      maybeDone();
    };

    for (let p = 0; p < pathCount; p++) pump(p);
    maybeDone();
  });
}
