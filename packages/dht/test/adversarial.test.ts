// Attacks from the issue: far-away or fake peers returned, forged or replayed records, a record
// flood from one peer, an eclipse attempt from one /24.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createIdentity } from '@detr/aecomms';
import { createSeededRng } from '@detr/interface';
import { DhtStatus, type PeerInfo } from '@detr/protocol';
import { compareDistance, kadIdOfPeer, kadIdOfRecordKey } from '../src/keys.js';
import { signRecord } from '../src/records/record.js';
import { mutableKey } from '../src/records/validators.js';
import { Simulation, type SimNode } from '../src/sim/harness.js';
import { identity, recordingReporter } from './support/fixtures.js';
import { ok, rogue, type Rogue } from './support/rogue.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

async function network(n: number, seed: number, dht = {}): Promise<Simulation> {
  sim = new Simulation({ seed, dht });
  await sim.grow(n, 10);
  return sim;
}

const info = (n: { peer: { bytes: Uint8Array }; address: string }): PeerInfo => ({
  peer: n.peer.bytes,
  addresses: [n.address],
});

describe('adversarial', () => {
  it('lookups succeed although some nodes return far-away and fake peers', async () => {
    const s = await network(60, 21);
    const fakes: PeerInfo[] = Array.from({ length: 20 }, (_, i) => ({
      peer: identity().peerId.bytes,
      addresses: [`/ip4/172.16.${i}.1/tcp/4001`], // nobody there
    }));
    const liars: Rogue[] = [];
    for (let i = 0; i < 8; i++) {
      const liar = rogue(s, `/ip4/66.${i}.0.1/tcp/1`, (inb) => {
        const req = inb.request;
        if (req.body !== 'findNode' && req.body !== 'findValue') return ok(req);
        const target =
          req.body === 'findNode'
            ? req.findNode.key
            : kadIdOfRecordKey(s.networkId, req.findValue.key);
        const far = [...s.nodes].sort((a, b) =>
          compareDistance(kadIdOfPeer(b.peer), kadIdOfPeer(a.peer), target),
        );
        return {
          ...ok(req),
          status: req.body === 'findValue' ? DhtStatus.DHT_STATUS_NOT_FOUND : 0,
          closerPeers: [...far.slice(0, 10).map(info), ...fakes.slice(0, 10)],
        };
      });
      await liar.introduce(s.nodes);
      liars.push(liar);
    }
    const inTables = s.nodes.filter((n) =>
      n.dht.peers().some((p) => liars.some((l) => l.peer.equals(p.peer))),
    ).length;
    expect(inTables).toBeGreaterThan(30);
    const f = await s.nodeLookups(200, 50);
    expect(f.ok).toBe(200);
    const recs = await s.putRecords(20);
    const g = await s.getRecords(recs);
    expect(g.ok).toBe(20);
    // Fake peers never answered, so no routing table holds one.
    const fakeKeys = new Set(fakes.map((p) => Buffer.from(p.peer).toString('hex')));
    for (const n of s.nodes) {
      for (const p of n.dht.peers())
        expect(fakeKeys.has(Buffer.from(p.peer.bytes).toString('hex'))).toBe(false);
    }
  });

  it('forged records are refused and their sender penalised; the genuine record wins', async () => {
    const s = await network(15, 22);
    const alice = s.nodes[2]!;
    const key = alice.dht.key('doc');
    await s.clock.runUntil(alice.dht.put(key, new Uint8Array([1]), { seq: 10 }));
    const mallory = identity();
    // Signed by Mallory for Alice's key, with a higher seq.
    const forgedOwner = await signRecord(mallory, {
      key,
      value: new Uint8Array([66]),
      seq: 99,
      ttlSec: 600,
      expiresAtMs: s.clock.now() + 600_000,
      networkId: s.networkId,
    });
    // Signed by Alice, then changed.
    const genuine = await signRecord(alice.identity, {
      key,
      value: new Uint8Array([1]),
      seq: 100,
      ttlSec: 600,
      expiresAtMs: s.clock.now() + 600_000,
      networkId: s.networkId,
    });
    const tampered = { ...genuine, body: genuine.body.slice() };
    const at = tampered.body.length - 40;
    tampered.body[at] = (tampered.body[at] as number) ^ 0xff;
    const honest = s.nodes.map(info);
    const forgeries = [forgedOwner, tampered];
    const forgers = forgeries.map((record, i) =>
      rogue(s, `/ip4/66.1.${i}.1/tcp/1`, (inb) => {
        const req = inb.request;
        if (req.body === 'findValue') return { ...ok(req), record, closerPeers: honest };
        if (req.body === 'findNode') return { ...ok(req), closerPeers: honest };
        return ok(req);
      }),
    );
    // The reader joins through the forgers: they are the first peers it asks.
    const reporter = recordingReporter();
    const reader = await s.addNode(
      forgers.map((f) => f.address),
      { reporter },
    );
    await s.clock.runUntil(reader.dht.bootstrap());
    expect(reader.dht.stats().peers).toBeLessThan(20); // every peer it knows is a lookup seed
    // A quorum it cannot reach: the lookup runs to the end and asks every peer it knows.
    const got = await s.clock.runUntil(reader.dht.get(key, { quorum: 50 }));
    expect(got?.value).toEqual(new Uint8Array([1]));
    expect(got?.seq).toBe(10);
    for (const f of forgers) {
      expect(reporter.of(f.peer).map((p) => p.reason)).toContain('bad-record');
      expect(reader.dht.peers().some((p) => p.peer.equals(f.peer))).toBe(false);
    }
    const forger = forgers[0]!;
    // STOREs of both forgeries are refused by honest holders.
    const holder = s.nodes[5]!;
    for (const record of forgeries) {
      const r = await s.clock.runUntil(forger.send(holder, { body: 'store', store: { record } }));
      expect(r.status).toBe(DhtStatus.DHT_STATUS_INVALID_RECORD);
    }
  });

  it('replayed records: an older seq is refused by holders and loses in a get, an expired one is refused', async () => {
    const s = await network(30, 23);
    const alice = s.nodes[3]!;
    const key = alice.dht.key('replay');
    const old = await signRecord(alice.identity, {
      key,
      value: new Uint8Array([1]),
      seq: 1,
      ttlSec: 60,
      expiresAtMs: s.clock.now() + 60_000,
      networkId: s.networkId,
    });
    await s.clock.runUntil(alice.dht.put(key, new Uint8Array([2]), { seq: 2 }));
    const replayer = rogue(s, '/ip4/66.2.0.1/tcp/1', (inb) =>
      inb.request.body === 'findValue' ? { ...ok(inb.request), record: old } : ok(inb.request),
    );
    const holders = s.nodes.filter((n) => n.dht.stats().records > 0);
    expect(holders.length).toBeGreaterThanOrEqual(20);
    const refused = await s.clock.runUntil(
      replayer.send(holders[0]!, { body: 'store', store: { record: old } }),
    );
    expect(refused.status).toBe(DhtStatus.DHT_STATUS_INVALID_RECORD);
    expect(refused.error).toBe('stale-seq');
    await replayer.introduce(s.nodes);
    for (const reader of s.nodes.slice(10, 15)) {
      const got = await s.clock.runUntil(reader.dht.get(key));
      expect(got?.seq).toBe(2);
    }
    await s.clock.run(61_000);
    const newcomer = await s.addNode([s.nodes[0]!.address]);
    await s.clock.runUntil(newcomer.dht.bootstrap());
    const late = await s.clock.runUntil(
      replayer.send(newcomer, { body: 'store', store: { record: old } }),
    );
    expect(late.status).toBe(DhtStatus.DHT_STATUS_INVALID_RECORD);
    expect(late.error).toBe('expired');
  });

  it('a record flood from one peer stops at its quota; others can still store', async () => {
    const s = await network(10, 24, { maxRecordsPerPeer: 50 });
    const victim = s.nodes[4]!;
    const flooder = rogue(s, '/ip4/66.3.0.1/tcp/1');
    const rng = createSeededRng(99);
    const statuses: number[] = [];
    for (let i = 0; i < 120; i++) {
      // Fresh keys cost nothing: half the flood is signed by throwaway identities.
      const signer = i % 2 === 0 ? flooder.identity : createIdentity(rng.bytes(32));
      const record = await signRecord(signer, {
        key: mutableKey(signer.publicKey, `spam-${i}`),
        value: rng.bytes(200),
        seq: 1,
        ttlSec: 600,
        expiresAtMs: s.clock.now() + 600_000,
        networkId: s.networkId,
      });
      const r = await s.clock.runUntil(flooder.send(victim, { body: 'store', store: { record } }));
      statuses.push(r.status);
    }
    expect(statuses.filter((x) => x === DhtStatus.DHT_STATUS_OK)).toHaveLength(50);
    expect(statuses.filter((x) => x === DhtStatus.DHT_STATUS_REFUSED)).toHaveLength(70);
    expect(victim.dht.stats().records).toBe(50);
    // An honest publisher still gets its record stored there.
    const honest = s.nodes[1]!;
    await s.clock.runUntil(honest.dht.put(honest.dht.key('fine'), new Uint8Array([1])));
    expect(victim.dht.stats().records).toBe(51);
  });

  it('an eclipse attempt from one /24 gets at most 3 table entries, and lookups still succeed', async () => {
    const s = await network(60, 25);
    const victim: SimNode = s.nodes[7]!;
    const attackers: Rogue[] = [];
    // 40 attacker nodes in 6.6.6.0/24, each answering only with other attackers.
    const attackerInfos: PeerInfo[] = [];
    for (let i = 0; i < 40; i++) {
      const a = rogue(s, `/ip4/6.6.6.${i + 1}/tcp/4001`, (inb) => {
        const req = inb.request;
        if (req.body === 'findValue')
          return {
            ...ok(req),
            status: DhtStatus.DHT_STATUS_NOT_FOUND,
            closerPeers: attackerInfos.slice(0, 20),
          };
        return { ...ok(req), closerPeers: attackerInfos.slice(0, 20) };
      });
      attackers.push(a);
      attackerInfos.push({ peer: a.peer.bytes, addresses: [a.address] });
    }
    for (const a of attackers) await a.introduce([victim]);
    const inVictim = victim.dht.peers().filter((p) => attackers.some((a) => a.peer.equals(p.peer)));
    expect(inVictim.length).toBeLessThanOrEqual(3);
    expect(inVictim.length).toBeGreaterThan(0);
    // The victim's lookups and gets still find honest nodes and records.
    const recs = await s.putRecords(10);
    for (const r of recs) {
      if (r.publisher === victim) continue;
      const got = await s.clock.runUntil(victim.dht.get(r.key));
      expect(got?.value).toEqual(r.value);
    }
    for (let i = 0; i < 20; i++) {
      const target = s.randomLive(victim);
      const res = await s.clock.runUntil(
        victim.dht.findClosestPeers(kadIdOfPeer(target.peer), { until: target.peer }),
      );
      expect(res.found).toBe(true);
    }
  });
});
