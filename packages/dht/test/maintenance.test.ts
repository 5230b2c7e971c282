// Presence, republication, re-replication under churn, bootstrap retry and restart: the rules
// that play out over time, on the simulator's virtual clock.
import { afterEach, describe, expect, it } from '@jest/globals';
import { parseAddress } from '@detr/interface';
import { Simulation, type SimNode } from '../src/sim/harness.js';
import { compareDistance, kadIdOfPeer, kadIdOfRecordKey } from '../src/keys.js';
import type { DhtInit } from '../src/config.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

async function network(n: number, dht: Partial<DhtInit> = {}, seed = 2): Promise<Simulation> {
  sim = new Simulation({ seed, dht });
  await sim.grow(n, 10);
  return sim;
}

/** The `n` live nodes closest to a record key. */
function closestLive(s: Simulation, key: Uint8Array, n: number): SimNode[] {
  const id = kadIdOfRecordKey(s.networkId, key);
  return s
    .live()
    .sort((a, b) => compareDistance(kadIdOfPeer(a.peer), kadIdOfPeer(b.peer), id))
    .slice(0, n);
}

describe('presence', () => {
  it('announces, refreshes every 5 minutes, resolves with findPeer, and is withdrawn on stop', async () => {
    const s = await network(25);
    const a = s.nodes[4]!;
    const b = s.nodes[19]!;
    const relay = parseAddress(
      `${s.nodes[7]!.address}/p2p/${s.nodes[7]!.peer.toString()}/p2p-circuit`,
    );
    await s.clock.runUntil(a.dht.announce({ relayAddresses: [relay] }));
    const first = await s.clock.runUntil(b.dht.findPeer(a.peer));
    expect(first?.addresses.map(String)).toEqual([a.address]);
    expect(first?.relayAddresses.map(String)).toEqual([relay.toString()]);
    expect(await s.clock.runUntil(b.dht.findPeer(s.nodes[8]!.peer))).toBeUndefined();

    await s.clock.run(5 * 60_000 + 1000);
    const second = await s.clock.runUntil(b.dht.findPeer(a.peer, { quorum: 3 }));
    expect(second!.seq).toBeGreaterThan(first!.seq);

    await s.clock.runUntil(a.dht.stop());
    a.alive = false;
    expect(await s.clock.runUntil(b.dht.findPeer(a.peer, { quorum: 3 }))).toBeUndefined();
  });
});

describe('records over time', () => {
  it('are republished by their publisher before they expire', async () => {
    const s = await network(20);
    const a = s.nodes[2]!;
    const kept = a.dht.key('kept');
    const once = a.dht.key('once');
    await s.clock.runUntil(a.dht.put(kept, new Uint8Array([1]), { ttlSec: 60 }));
    await s.clock.runUntil(a.dht.put(once, new Uint8Array([2]), { ttlSec: 60, republish: false }));
    await s.clock.run(200_000);
    const b = s.nodes[15]!;
    const got = await s.clock.runUntil(b.dht.get(kept));
    expect(got?.value).toEqual(new Uint8Array([1]));
    expect(got!.expiresAtMs).toBeGreaterThan(s.clock.now());
    expect(await s.clock.runUntil(b.dht.get(once))).toBeUndefined();
  });

  it('reach new peers that join among the k closest, so they survive their first holders', async () => {
    const s = await network(40, { k: 8, replicationIntervalMs: 3_600_000 });
    const a = s.nodes[1]!;
    const key = a.dht.key('churn');
    await s.clock.runUntil(a.dht.put(key, new Uint8Array([7]), { republish: false }));
    const holders = closestLive(s, key, 8);
    // 80 nodes join; some land among the 8 closest and are sent the record by the holders.
    await s.grow(120, 10);
    await s.clock.run(5000);
    const newcomers = closestLive(s, key, 8).filter((n) => !holders.includes(n));
    expect(newcomers.length).toBeGreaterThan(0);
    for (const n of newcomers) expect(n.dht.stats().records).toBe(1);
    // The first holders (and the publisher) leave without warning.
    for (const h of [...holders, a]) {
      if (!h.alive) continue;
      h.alive = false;
      s.net.kill(h.peer);
      await s.clock.runUntil(h.dht.stop());
    }
    for (let i = 0; i < 5; i++) {
      const got = await s.clock.runUntil(s.randomLive().dht.get(key));
      expect(got?.value).toEqual(new Uint8Array([7]));
    }
  });

  it('are re-replicated by holders every replication interval, after the publisher left', async () => {
    const s = await network(40, {
      k: 4,
      replicationIntervalMs: 60_000,
      replicateToNewPeers: false,
    });
    const a = s.nodes[3]!;
    const key = a.dht.key('orphan');
    await s.clock.runUntil(a.dht.put(key, new Uint8Array([9]), { ttlSec: 3600 }));
    const holders = closestLive(s, key, 4).filter((n) => n !== a);
    const victims = [a, ...holders.slice(0, 2)];
    for (const v of victims) {
      v.alive = false;
      s.net.kill(v.peer);
      await s.clock.runUntil(v.dht.stop());
    }
    // The two remaining holders re-replicate to the new closest set within an interval.
    await s.clock.run(150_000);
    for (const v of holders.slice(2)) {
      v.alive = false;
      s.net.kill(v.peer);
      await s.clock.runUntil(v.dht.stop());
    }
    const got = await s.clock.runUntil(s.randomLive().dht.get(key));
    expect(got?.value).toEqual(new Uint8Array([9]));
  });
});

describe('bucket refresh', () => {
  it('looks up a random id in every bucket not looked up for refreshIntervalMs', async () => {
    const quiet = await network(30, { refreshIntervalMs: 3_600_000 }, 7);
    const s = await network(30, { refreshIntervalMs: 120_000 }, 7);
    const before = s.nodes.map((n) => n.dht.stats().lookups);
    const beforeQuiet = quiet.nodes.map((n) => n.dht.stats().lookups);
    await s.clock.run(200_000);
    await quiet.clock.run(200_000);
    const refreshed = s.nodes.filter((n, i) => n.dht.stats().lookups > before[i]!).length;
    const idle = quiet.nodes.filter((n, i) => n.dht.stats().lookups > beforeQuiet[i]!).length;
    expect(refreshed).toBe(30);
    // With an hour's interval only buckets that appeared after the join (the table split deeper)
    // are due: a few nodes at most.
    expect(idle).toBeLessThanOrEqual(3);
    await quiet.stopAll();
  });
});

describe('bootstrap', () => {
  it('retries with backoff until a bootstrap node appears', async () => {
    sim = new Simulation({ seed: 4 });
    const s = sim;
    const lateAddress = '/ip4/10.200.0.1/tcp/4001';
    const b = await s.addNode([lateAddress], {
      dht: { bootstrapRetryMinMs: 1000, bootstrapRetryMaxMs: 8000 },
    });
    await s.clock.run(5000);
    expect(b.dht.stats().peers).toBe(0);
    const first = s.net.stats.requests;
    expect(first).toBeGreaterThanOrEqual(2); // tried, waited, tried again
    await s.addNode([], { address: lateAddress });
    await s.clock.run(20_000);
    expect(b.dht.stats().peers).toBe(1);
  });

  it('bootstraps from the routing table saved in its store after a restart, and from a peer source', async () => {
    const s = await network(15, {}, 5);
    const x = s.nodes[6]!;
    const before = x.dht.stats().peers;
    expect(before).toBeGreaterThan(5);
    await s.clock.runUntil(x.dht.stop()); // saves the table
    s.net.remove(x.peer);
    x.alive = false;
    // Same identity and store, no bootstrap address: the saved table is enough.
    const again = await s.addNode([], { identity: x.identity, store: x.store, address: x.address });
    await s.clock.run(10_000);
    expect(again.dht.stats().peers).toBeGreaterThan(5);

    const sourced = await s.addNode([], {
      peerSource: {
        peers: () =>
          s.nodes
            .slice(0, 3)
            .map((n) => ({ peer: n.peer, addresses: [{ address: parseAddress(n.address) }] })),
      },
    });
    await s.clock.run(10_000);
    expect(sourced.dht.stats().peers).toBeGreaterThan(3);
  });

  it('leaves no timer behind once stopped', async () => {
    const s = await network(10, {}, 6);
    await s.clock.runUntil(s.nodes[2]!.dht.put(s.nodes[2]!.dht.key('t'), new Uint8Array(1)));
    await s.clock.runUntil(s.nodes[2]!.dht.announce());
    await s.stopAll();
    await s.clock.run(10_000); // in-flight request timeouts of the network drain
    expect(s.clock.pending()).toBe(0);
    sim = undefined;
  });
});
