// With the real @detr/dpeers as the PeerReporter and peer source: misbehaving peers lose
// reputation there (and get banned) as well as their routing-table entry, and a node restarted
// with an empty DHT store joins again from dpeers' persisted registry.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createDpeers } from '@detr/dpeers';
import { parseAddress } from '@detr/interface';
import { createMemoryStore } from '@detr/stored';
import { kadIdOfPeer } from '../src/keys.js';
import { signRecord } from '../src/records/record.js';
import { Simulation } from '../src/sim/harness.js';
import { identity } from './support/fixtures.js';
import { ok, rogue } from './support/rogue.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

describe('with @detr/dpeers', () => {
  it('penalises garbage answers and forged records in dpeers, drops the peer, bans a repeat offender', async () => {
    sim = new Simulation({ seed: 41 });
    const s = sim;
    await s.grow(15, 5);
    const dpeers = createDpeers({ clock: s.clock });
    const victim = await s.addNode([s.nodes[0]!.address], { reporter: dpeers, bans: dpeers });
    await s.clock.runUntil(victim.dht.bootstrap());

    const garbage = rogue(s, '/ip4/66.9.0.1/tcp/1', (i) => ({
      ...ok(i.request),
      closerPeers: [{ peer: new Uint8Array([1, 2, 3]), addresses: ['/ip4/1.2.3.4/tcp/1'] }],
    }));
    await garbage.introduce([victim]);
    expect(victim.dht.peers().some((p) => p.peer.equals(garbage.peer))).toBe(true);
    await s.clock.runUntil(victim.dht.findClosestPeers(kadIdOfPeer(garbage.peer)));
    expect(dpeers.score(garbage.peer)).toBeLessThan(0);
    expect(victim.dht.peers().some((p) => p.peer.equals(garbage.peer))).toBe(false);

    // A peer handing out forged records, again and again, ends up banned.
    const owner = s.nodes[3]!;
    const key = owner.dht.key('doc');
    await s.clock.runUntil(owner.dht.put(key, new Uint8Array([1])));
    const forged = await signRecord(identity(), {
      key,
      value: new Uint8Array([6]),
      seq: Number.MAX_SAFE_INTEGER,
      ttlSec: 600,
      expiresAtMs: s.clock.now() + 600_000,
      networkId: s.networkId,
    });
    const forger = rogue(s, '/ip4/66.9.1.1/tcp/1', (i) =>
      i.request.body === 'findValue' ? { ...ok(i.request), record: forged } : ok(i.request),
    );
    for (let round = 0; round < 4 && !dpeers.isBanned(forger.peer); round++) {
      await forger.introduce([victim]);
      expect(victim.dht.peers().some((p) => p.peer.equals(forger.peer))).toBe(true);
      const got = await s.clock.runUntil(victim.dht.get(key, { quorum: 30 }));
      expect(got?.value).toEqual(new Uint8Array([1]));
      expect(victim.dht.peers().some((p) => p.peer.equals(forger.peer))).toBe(false);
    }
    expect(dpeers.isBanned(forger.peer)).toBe(true);
    // Banned: it cannot get back into the table, and the victim no longer answers it.
    await forger.introduce([victim]);
    expect(victim.dht.peers().some((p) => p.peer.equals(forger.peer))).toBe(false);
    await expect(
      s.clock.runUntil(forger.send(victim, { body: 'ping', ping: {} })),
    ).rejects.toThrow();
    expect(dpeers.stats().penalties).toBeGreaterThanOrEqual(4);
    await dpeers.stop();
  });

  it('restarts from the peer registry dpeers persisted, with an empty DHT store', async () => {
    sim = new Simulation({ seed: 42 });
    const s = sim;
    await s.grow(15, 5);
    const peerStore = createMemoryStore({ clock: s.clock }, { sweepIntervalMs: 0 });
    await peerStore.start();
    const first = createDpeers({ clock: s.clock, store: peerStore });
    await first.start();
    for (const n of s.nodes.slice(0, 4))
      first.addAddresses(n.peer, [parseAddress(n.address)], 'dht');
    await first.flush();
    await first.stop();

    // A new process: dpeers loads its registry; the DHT has nothing saved and no bootstrap list.
    const again = createDpeers({ clock: s.clock, store: peerStore });
    await again.start();
    expect(again.peers()).toHaveLength(4);
    const node = await s.addNode([], { peerSource: again });
    await s.clock.runUntil(node.dht.bootstrap());
    expect(node.dht.stats().peers).toBeGreaterThan(4);
    const target = s.nodes[9]!;
    const r = await s.clock.runUntil(
      node.dht.findClosestPeers(kadIdOfPeer(target.peer), { until: target.peer }),
    );
    expect(r.found).toBe(true);
    await again.stop();
    await peerStore.stop();
  });
});
