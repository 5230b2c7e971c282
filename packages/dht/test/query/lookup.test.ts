import { describe, expect, it } from '@jest/globals';
import { AbortError, createSeededRng, parseAddress, type PeerId } from '@detr/interface';
import { compareDistance, kadIdOfPeer } from '../../src/keys.js';
import { lookup, type LookupPeer } from '../../src/query/lookup.js';
import { identity } from '../support/fixtures.js';

const ADDR = [parseAddress('/ip4/192.0.2.1/tcp/1')];
const world: PeerId[] = Array.from({ length: 300 }, () => identity().peerId);
const self = identity().peerId;
const lp = (peer: PeerId): LookupPeer => ({ peer, addresses: ADDR });
const key = (p: PeerId): string => p.toString();

/** What `p` knows: its 8 closest peers and 8 random others (a sparse but connected world). */
const rng = createSeededRng(11);
const knows = new Map<string, PeerId[]>();
for (const p of world) {
  const id = kadIdOfPeer(p);
  const near = [...world]
    .filter((q) => q !== p)
    .sort((a, b) => compareDistance(kadIdOfPeer(a), kadIdOfPeer(b), id));
  const random = Array.from({ length: 8 }, () => world[rng.int(world.length)]!).filter(
    (q) => q !== p,
  );
  knows.set(key(p), [...near.slice(0, 8), ...random]);
}
function closestTo(target: Uint8Array, peers: PeerId[], n: number): string[] {
  return [...peers]
    .sort((a, b) => compareDistance(kadIdOfPeer(a), kadIdOfPeer(b), target))
    .slice(0, n)
    .map(key);
}
function answer(p: PeerId, target: Uint8Array) {
  const known = knows.get(key(p)) ?? [];
  const closer = [...known]
    .sort((a, b) => compareDistance(kadIdOfPeer(a), kadIdOfPeer(b), target))
    .slice(0, 20);
  return { closer: closer.map(lp) };
}

const base = { self: kadIdOfPeer(self), k: 20, alpha: 3, maxRequests: 500 };

describe('lookup', () => {
  it('converges to the k closest peers, querying each peer once across disjoint paths', async () => {
    for (let round = 0; round < 10; round++) {
      const target = rng.bytes(32);
      const queried: string[] = [];
      const seeds = Array.from({ length: 6 }, () => lp(world[rng.int(world.length)]!));
      const r = await lookup({
        ...base,
        target,
        seeds,
        paths: 3,
        query: (p) => {
          queried.push(key(p.peer));
          return Promise.resolve(answer(p.peer, target));
        },
      });
      expect(new Set(queried).size).toBe(queried.length);
      expect(r.stats.requests).toBe(queried.length);
      const want = closestTo(target, world, 20);
      const got = r.closest.map((h) => key(h.peer));
      // Disjoint paths each converge on their own set; together they find most of the true k closest
      // and always the closest few.
      expect(got.slice(0, 3)).toEqual(want.slice(0, 3));
      expect(got.filter((g) => want.includes(g)).length).toBeGreaterThanOrEqual(15);
      expect(r.closest[0]!.hop).toBeGreaterThanOrEqual(1);
    }
  });

  it('survives fake peers that never answer and liars that return far-away peers', async () => {
    const fakes = Array.from({ length: 40 }, () => identity().peerId);
    const liars = new Set(world.slice(0, 60).map(key));
    const target = kadIdOfPeer(world[200]!);
    const farthest = [...world]
      .sort((a, b) => compareDistance(kadIdOfPeer(b), kadIdOfPeer(a), target))
      .slice(0, 20);
    const r = await lookup({
      ...base,
      target,
      seeds: world.slice(0, 10).map(lp),
      paths: 2,
      query: (p) => {
        if (fakes.some((f) => f.equals(p.peer))) return Promise.reject(new Error('timeout'));
        if (liars.has(key(p.peer))) {
          // A liar: far-away peers and fake peers, never the truth.
          return Promise.resolve({ closer: [...farthest.map(lp), ...fakes.map(lp)] });
        }
        return Promise.resolve(answer(p.peer, target));
      },
    });
    expect(r.closest[0]!.peer.equals(world[200]!)).toBe(true);
    expect(r.stats.failures).toBeGreaterThan(0);
    expect(r.closest.every((h) => !fakes.some((f) => f.equals(h.peer)))).toBe(true);
  });

  it('stops when onAnswer says so, reporting the hop of that answer', async () => {
    const wanted = world[123]!;
    const target = kadIdOfPeer(wanted);
    const r = await lookup({
      ...base,
      target,
      seeds: [lp(world[0]!)],
      paths: 2,
      query: (p) => Promise.resolve(answer(p.peer, target)),
      onAnswer: (hit) => hit.peer.equals(wanted),
    });
    expect(r.stopped).toBe(true);
    expect(r.stats.hops).toBeGreaterThan(1);
  });

  it('never sends more than maxRequests, and ends with no seeds', async () => {
    const target = rng.bytes(32);
    const r = await lookup({
      ...base,
      maxRequests: 7,
      target,
      seeds: world.slice(0, 20).map(lp),
      paths: 2,
      query: (p) => Promise.resolve(answer(p.peer, target)),
    });
    expect(r.stats.requests).toBe(7);
    const empty = await lookup({
      ...base,
      target,
      seeds: [],
      paths: 2,
      query: () => Promise.reject(new Error('x')),
    });
    expect(empty.closest).toEqual([]);
    expect(empty.stats.hops).toBe(0);
  });

  it('rejects with AbortError when its signal aborts', async () => {
    const ac = new AbortController();
    const target = rng.bytes(32);
    const p = lookup({
      ...base,
      target,
      seeds: world.slice(0, 5).map(lp),
      paths: 1,
      query: () => new Promise<{ closer: LookupPeer[] }>(() => {}),
      signal: ac.signal,
    });
    ac.abort();
    await expect(p).rejects.toThrow(AbortError);
    const pre = new AbortController();
    pre.abort();
    await expect(
      lookup({
        ...base,
        target,
        seeds: [],
        paths: 1,
        query: () => Promise.reject(new Error()),
        signal: pre.signal,
      }),
    ).rejects.toThrow(AbortError);
  });
});
