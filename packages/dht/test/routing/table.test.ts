import { describe, expect, it } from '@jest/globals';
import {
  createManualClock,
  createSeededRng,
  parseAddress,
  type Address,
  type PeerId,
} from '@detr/interface';
import { commonPrefixLength, compareDistance, kadIdOfPeer } from '../../src/keys.js';
import { RoutingTable, type Contact, type RoutingTableOptions } from '../../src/routing/table.js';
import { isLoopback, subnetOf } from '../../src/routing/subnet.js';
import { identity } from '../support/fixtures.js';

const self = identity().peerId;
const selfId = kadIdOfPeer(self);
const peers: PeerId[] = Array.from({ length: 400 }, () => identity().peerId);

function table(over: Partial<RoutingTableOptions> = {}) {
  const clock = createManualClock();
  const pings: Contact[] = [];
  let alive = true;
  const removed: Array<[Contact, string]> = [];
  const t = new RoutingTable({
    selfId,
    k: 20,
    pingCount: 3,
    livenessCheckAfterMs: 60_000,
    diversity: { maxPerSubnetPerBucket: 2, maxPerSubnet: 3, limitLoopback: false },
    clock,
    ping: (c) => {
      pings.push(c);
      return Promise.resolve(alive);
    },
    onRemoved: (c, why) => removed.push([c, why]),
    ...over,
  });
  return {
    t,
    clock,
    pings,
    removed,
    setAlive: (v: boolean) => {
      alive = v;
    },
  };
}

let n = 0;
const uniqueAddr = (): Address => {
  n++;
  return parseAddress(`/ip4/10.${(n >> 8) & 255}.${n & 255}.1/tcp/4001`);
};
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RoutingTable', () => {
  it('adds peers that answered, refreshes known ones, refuses itself and peers without address', () => {
    const { t } = table();
    const a = uniqueAddr();
    expect(t.confirm(peers[0]!, [a], a)).toBe('added');
    expect(t.confirm(peers[0]!, [a], a)).toBe('updated');
    expect(t.confirm(self, [a], a)).toBe('self');
    expect(t.confirm(peers[1]!, [], undefined)).toBe('no-address');
    expect(t.size).toBe(1);
    expect(t.get(peers[0]!)?.peer.equals(peers[0]!)).toBe(true);
    expect(t.remove(peers[0]!, 'timeout')).toBe(true);
    expect(t.remove(peers[0]!)).toBe(false);
    expect(t.size).toBe(0);
  });

  it('returns the closest contacts in XOR order, like a full sort', () => {
    const { t } = table();
    for (const p of peers) t.confirm(p, [uniqueAddr()], undefined);
    const all = t.contacts();
    expect(all.length).toBeGreaterThan(60);
    const rng = createSeededRng(3);
    for (let i = 0; i < 50; i++) {
      const target = rng.bytes(32);
      const want = [...all].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 20);
      expect(t.closest(target, 20).map((c) => c.peer.toString())).toEqual(
        want.map((c) => c.peer.toString()),
      );
    }
    expect(t.closest(selfId, 0)).toEqual([]);
  });

  it('holds at most 3 peers of one /24 in the table and 2 in a bucket', () => {
    const { t } = table();
    // Some peers from distinct subnets first, so that the table has split into buckets.
    for (const p of peers.slice(100, 160)) t.confirm(p, [uniqueAddr()], undefined);
    const results = peers.slice(0, 30).map((p, i) => {
      const a = parseAddress(`/ip4/203.0.113.${i + 1}/tcp/4001`);
      return t.confirm(p, [a], a);
    });
    expect(results.filter((r) => r === 'added')).toHaveLength(3);
    expect(results.filter((r) => r === 'subnet-table').length).toBeGreaterThan(20);
    expect(t.contacts().filter((c) => c.subnet === '4:203.0.113')).toHaveLength(3);
    // Before any split the one bucket is the whole table: 2 per /24.
    const fresh = table().t;
    for (let i = 0; i < 5; i++) {
      const a = parseAddress(`/ip4/203.0.113.${i + 1}/tcp/4001`);
      fresh.confirm(peers[i]!, [a], a);
    }
    expect(fresh.size).toBe(2);
    expect(subnetOf(parseAddress('/ip4/203.0.113.9/tcp/1'))).toBe('4:203.0.113');

    const wide = table({
      diversity: { maxPerSubnetPerBucket: 2, maxPerSubnet: 1000, limitLoopback: false },
    }).t;
    for (let i = 0; i < 200; i++) {
      const a = parseAddress(`/ip4/198.51.100.${(i % 250) + 1}/tcp/4001`);
      wide.confirm(peers[i]!, [a], a);
    }
    // The far buckets (prefix length < depth - 1) are leaves of their own: at most 2 each.
    const depth = wide.bucketPrefixLengths().length;
    const perCpl = new Map<number, number>();
    for (const c of wide.contacts()) {
      const cpl = Math.min(commonPrefixLength(c.id, selfId), depth);
      perCpl.set(cpl, (perCpl.get(cpl) ?? 0) + 1);
    }
    for (const [cpl, count] of perCpl) if (cpl < depth - 1) expect(count).toBeLessThanOrEqual(2);
    expect(wide.hasRoomFor(peers[399]!, parseAddress('/ip4/198.51.100.1/tcp/1'))).toBe(
      wide.confirm(peers[399]!, [parseAddress('/ip4/198.51.100.1/tcp/1')], undefined) === 'added',
    );
  });

  it('exempts loopback from diversity limits unless told otherwise', () => {
    const lo = parseAddress('/ip4/127.0.0.1/tcp/4001');
    expect(isLoopback(lo)).toBe(true);
    expect(isLoopback(parseAddress('/ip6/::1/tcp/1'))).toBe(true);
    expect(isLoopback(parseAddress('/memory/x'))).toBe(true);
    expect(isLoopback(parseAddress('/ip4/10.0.0.1/tcp/1'))).toBe(false);
    const { t } = table();
    for (let i = 0; i < 10; i++) expect(t.confirm(peers[i]!, [lo], lo)).toBe('added');
    const strict = table({
      diversity: { maxPerSubnetPerBucket: 2, maxPerSubnet: 3, limitLoopback: true },
    }).t;
    for (let i = 0; i < 10; i++) strict.confirm(peers[i]!, [lo], lo);
    expect(strict.size).toBe(2); // one bucket so far: 2 per /24
    const off = table({ diversity: false }).t;
    for (let i = 0; i < 10; i++)
      off.confirm(peers[i]!, [uniqueAddr()], parseAddress('/ip4/192.0.2.1/tcp/1'));
    expect(off.size).toBe(10);
  });

  it('keeps a full bucket while its peers are fresh, and checks liveness before evicting', async () => {
    const h = table({ k: 2, pingCount: 1 });
    const { t, clock } = h;
    // Fill until a bucket that cannot split is full.
    let first: string | undefined;
    let i = 0;
    for (; i < peers.length && first === undefined; i++) {
      const r = t.confirm(peers[i]!, [uniqueAddr()], undefined);
      if (r === 'bucket-full') first = peers[i]!.toString();
    }
    expect(first).toBeDefined();
    expect(h.pings).toHaveLength(0); // fresh peers are not pinged
    const candidate = peers[i - 1]!;

    // Later, the least recently seen peer is checked; it answers, so the newcomer is dropped.
    clock.advance(61_000);
    expect(t.confirm(candidate, [uniqueAddr()], undefined)).toBe('checking');
    expect(h.pings).toHaveLength(1);
    await flush();
    expect(t.get(candidate)).toBeUndefined();
    expect(t.get(h.pings[0]!.peer)).toBeDefined();

    // Now it does not answer: it is evicted and the newcomer takes its place.
    clock.advance(61_000);
    h.setAlive(false);
    expect(t.confirm(candidate, [uniqueAddr()], undefined)).toBe('checking');
    const pinged = h.pings[1]!;
    // While a check runs, other newcomers for that bucket are refused.
    await flush();
    expect(t.get(pinged.peer)).toBeUndefined();
    expect(t.get(candidate)).toBeDefined();
    expect(h.removed.some(([c, why]) => c.peer.equals(pinged.peer) && why === 'unresponsive')).toBe(
      true,
    );
    expect(t.stats.evicted).toBe(1);
  });

  it('ignores confirmations while inactive', () => {
    const { t } = table();
    t.setActive(false);
    expect(t.confirm(peers[0]!, [uniqueAddr()], undefined)).toBe('checking');
    expect(t.size).toBe(0);
    t.setActive(true);
    expect(t.confirm(peers[0]!, [uniqueAddr()], undefined)).toBe('added');
  });
});
