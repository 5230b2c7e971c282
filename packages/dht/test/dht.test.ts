import { afterEach, describe, expect, it } from '@jest/globals';
import { AbortError, NotStartedError, type PeerRouting, type SharedRecords } from '@detr/interface';
import { createDht, dhtProtocol } from '../src/dht.js';
import { InvalidRecordError } from '../src/errors.js';
import { mutableKey } from '../src/records/validators.js';
import { SIM_NETWORK_ID, Simulation } from '../src/sim/harness.js';
import { NETWORK_B, identity } from './support/fixtures.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

async function network(n: number, seed = 1): Promise<Simulation> {
  sim = new Simulation({ seed, encode: true });
  await sim.grow(n, 10);
  return sim;
}

describe('createDht', () => {
  it('names its protocol after the network and checks its options', () => {
    expect(dhtProtocol(new Uint8Array(32).fill(0xab))).toBe(`/detr/${'ab'.repeat(32)}/dht/1`);
    const id = identity();
    const base = {
      signer: id,
      network: {
        request: () => Promise.reject(new Error()),
        setHandler: () => {},
        listenAddresses: () => [],
      },
    } as never;
    expect(() => createDht(base, { networkId: new Uint8Array(31) })).toThrow(TypeError);
    expect(() => createDht(base, { networkId: SIM_NETWORK_ID, k: 0 })).toThrow(RangeError);
    expect(() => createDht(base, { networkId: SIM_NETWORK_ID, bootstrap: ['nonsense'] })).toThrow(
      TypeError,
    );
    expect(() => createDht(base, { networkId: SIM_NETWORK_ID, republishFraction: 1 })).toThrow(
      RangeError,
    );
  });

  it('puts and gets signed records across the network', async () => {
    const s = await network(30);
    // The Dht is the SharedRecords and PeerRouting that @detr/nat is given.
    const records: SharedRecords = s.nodes[0]!.dht;
    const routing: PeerRouting = s.nodes[0]!.dht;
    expect(records.get).toBeDefined();
    expect(routing.findPeer).toBeDefined();
    const [a, b] = [s.nodes[3]!, s.nodes[17]!];
    const key = a.dht.key('hello');
    const put = await s.clock.runUntil(
      a.dht.put(key, new TextEncoder().encode('world'), { ttlSec: 600 }),
    );
    expect(put.replicas).toBeGreaterThanOrEqual(20);
    const got = await s.clock.runUntil(b.dht.get(key));
    expect(new TextDecoder().decode(got!.value)).toBe('world');
    expect(Buffer.from(got!.publisher)).toEqual(Buffer.from(a.peer.publicKey));
    expect(got!.holders).toBeGreaterThanOrEqual(1);
    expect(await s.clock.runUntil(b.dht.get(a.dht.key('nothing')))).toBeUndefined();
  });

  it('refuses to publish under a key it does not own, or an unknown namespace', async () => {
    const s = await network(5);
    const a = s.nodes[1]!;
    const other = mutableKey(s.nodes[2]!.peer.publicKey, 'x');
    await expect(s.clock.runUntil(a.dht.put(other, new Uint8Array(1)))).rejects.toMatchObject({
      reason: 'validator',
    });
    await expect(
      s.clock.runUntil(a.dht.put(new TextEncoder().encode('/zz/x'), new Uint8Array(1))),
    ).rejects.toThrow(InvalidRecordError);
    await expect(
      s.clock.runUntil(a.dht.put(a.dht.key('big'), new Uint8Array(20_000))),
    ).rejects.toMatchObject({
      reason: 'too-large',
    });
    await expect(a.dht.put(a.dht.key('t'), new Uint8Array(1), { ttlSec: 10 ** 9 })).rejects.toThrow(
      RangeError,
    );
  });

  it('keeps the highest sequence number: a lower one is refused everywhere', async () => {
    const s = await network(30);
    const a = s.nodes[5]!;
    const key = a.dht.key('seq');
    await s.clock.runUntil(a.dht.put(key, new Uint8Array([5]), { seq: 5 }));
    await expect(
      s.clock.runUntil(a.dht.put(key, new Uint8Array([3]), { seq: 3 })),
    ).rejects.toMatchObject({
      reason: 'stale-seq',
    });
    await s.clock.runUntil(a.dht.put(key, new Uint8Array([6]), { seq: 6 }));
    const got = await s.clock.runUntil(s.nodes[20]!.dht.get(key, { quorum: 5 }));
    expect(got!.seq).toBe(6);
    expect(got!.value).toEqual(new Uint8Array([6]));
    // Default seqs grow on their own.
    const r1 = await s.clock.runUntil(a.dht.put(a.dht.key('auto'), new Uint8Array([1])));
    const r2 = await s.clock.runUntil(a.dht.put(a.dht.key('auto'), new Uint8Array([2])));
    expect(r2.seq).toBeGreaterThan(r1.seq);
  });

  it('answers lookups for nodes and reports hops and messages', async () => {
    const s = await network(30);
    const target = s.nodes[9]!;
    const r = await s.clock.runUntil(
      s.nodes[22]!.dht.findClosestPeers((await import('../src/keys.js')).kadIdOfPeer(target.peer), {
        until: target.peer,
      }),
    );
    expect(r.found).toBe(true);
    expect(r.lookup.hops).toBeGreaterThanOrEqual(1);
    expect(r.lookup.requests).toBeGreaterThanOrEqual(1);
    await expect(s.nodes[22]!.dht.findClosestPeers(new Uint8Array(5))).rejects.toThrow(RangeError);
    expect(s.nodes[22]!.dht.peers().length).toBeGreaterThan(5);
  });

  it('keeps records of one network invisible to another', async () => {
    const s = await network(20);
    const a = s.nodes[2]!;
    await s.clock.runUntil(a.dht.put(a.dht.key('scoped'), new Uint8Array([1])));
    // A node of network B on the same wire (only possible in the simulator: detr streams carry
    // the network id in the protocol id, so it would not even get an answer).
    const stranger = await s.addNode([s.nodes[0]!.address], { networkId: NETWORK_B });
    await s.clock.runUntil(stranger.dht.bootstrap());
    expect(await s.clock.runUntil(stranger.dht.get(a.dht.key('scoped')))).toBeUndefined();
    // Every node of network A refuses its record: only its own copy exists.
    const put = await s.clock.runUntil(
      stranger.dht.put(stranger.dht.key('mine'), new Uint8Array([2])),
    );
    expect(put.replicas).toBe(1);
    expect(await s.clock.runUntil(s.nodes[3]!.dht.get(stranger.dht.key('mine')))).toBeUndefined();
  });

  it('has an idempotent lifecycle and refuses work when stopped', async () => {
    const s = await network(3);
    const a = s.nodes[1]!;
    await a.dht.start();
    await s.clock.runUntil(a.dht.stop());
    await a.dht.stop();
    await expect(a.dht.get(a.dht.key('x'))).rejects.toThrow(NotStartedError);
    await expect(a.dht.put(a.dht.key('x'), new Uint8Array(1))).rejects.toThrow(NotStartedError);
    await a.dht.start();
    expect(a.dht.stats().peers).toBeGreaterThan(0);
  });
});

describe('options and lifecycle', () => {
  it('accepts records of a custom namespace through its validator, and refuses others', async () => {
    sim = new Simulation({
      seed: 11,
      dht: {
        validators: {
          // Anyone may write a mailbox entry, but the value must start with 'ok'.
          mbox: { validate: (r) => r.value[0] === 0x6f && r.value[1] === 0x6b, maxValueBytes: 64 },
        },
      },
    });
    const s = sim;
    await s.grow(12, 6);
    const key = new TextEncoder().encode('/mbox/alice/1');
    const writer = s.nodes[3]!;
    await s.clock.runUntil(writer.dht.put(key, new TextEncoder().encode('ok: hi')));
    const got = await s.clock.runUntil(s.nodes[9]!.dht.get(key));
    expect(new TextDecoder().decode(got!.value)).toBe('ok: hi');
    await expect(
      s.clock.runUntil(writer.dht.put(key, new TextEncoder().encode('no'))),
    ).rejects.toMatchObject({ reason: 'validator' });
    await expect(
      s.clock.runUntil(writer.dht.put(key, new Uint8Array(65).fill(0x6f))),
    ).rejects.toMatchObject({ reason: 'too-large' });
  });

  it('never adds a client-mode node to routing tables', async () => {
    const s = await network(10);
    const client = await s.addNode([s.nodes[0]!.address], { dht: { clientMode: true } });
    await s.clock.runUntil(client.dht.bootstrap());
    expect(client.dht.stats().peers).toBeGreaterThan(3);
    await s.clock.run(5000);
    for (const n of s.nodes) {
      if (n === client) continue;
      expect(n.dht.peers().some((p) => p.peer.equals(client.peer))).toBe(false);
    }
    // It can still read and write.
    await s.clock.runUntil(client.dht.put(client.dht.key('c'), new Uint8Array([1])));
    expect(await s.clock.runUntil(s.nodes[4]!.dht.get(client.dht.key('c')))).toBeDefined();
  });

  it('rejects with AbortError when the signal aborts or the DHT stops during a lookup', async () => {
    const s = await network(15);
    const a = s.nodes[2]!;
    const ac = new AbortController();
    ac.abort();
    await expect(a.dht.get(a.dht.key('x'), { signal: ac.signal })).rejects.toThrow(AbortError);
    // Every other node goes silent: the lookup is waiting when the DHT stops.
    for (const n of s.nodes) if (n !== a) s.net.kill(n.peer);
    const pending = a.dht.findPeer(s.nodes[5]!.peer);
    await s.clock.run(10);
    const stopping = a.dht.stop();
    await expect(s.clock.runUntil(pending)).rejects.toThrow(AbortError);
    await s.clock.runUntil(stopping);
  });
});
