// What a mailbox namespace needs (node's offline delivery): records placed at the recipient
// (`placement: 'peer'`), superseded or deleted by a party other than their publisher
// (`mayReplace`, `delete`), listed locally by prefix (`held`), and an event when a record
// addressed to this node arrives (`record:self`), also when it comes back online.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { PeerId } from '@detr/interface';
import { kadIdOfPeer } from '../src/keys.js';
import { recordKeyPeer } from '../src/records/locate.js';
import type { DhtRecordView, RecordValidator } from '../src/records/record.js';
import { Simulation, type SimNode } from '../src/sim/harness.js';
import type { DhtEvents } from '../src/events.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

const enc = new TextEncoder();
const bytesEq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Anyone may write an empty slot; only the writer or the slot's owner may replace a message. */
const mbox: RecordValidator = {
  placement: 'peer',
  maxValueBytes: 1024,
  validate: () => true,
  mayReplace(next: DhtRecordView, current: DhtRecordView) {
    if (current.value.length === 0) return true; // a deleted slot is free again
    const owner = recordKeyPeer(next.key);
    return (
      bytesEq(next.publisher, current.publisher) ||
      (owner !== undefined && bytesEq(next.publisher, owner.publicKey))
    );
  },
};

const slot = (owner: PeerId, n: number): Uint8Array =>
  Buffer.concat([Buffer.from('/mbox/'), owner.bytes, Buffer.from([n])]);

async function network(n: number, seed: number): Promise<Simulation> {
  sim = new Simulation({ seed, dht: { validators: { mbox } } });
  await sim.grow(n, 10);
  return sim;
}

function listen(node: SimNode): Array<DhtEvents['record:self']> {
  const got: Array<DhtEvents['record:self']> = [];
  node.dht.on('record:self', (e) => got.push(e));
  return got;
}

describe('mailbox namespace', () => {
  it('stores at the recipient, which hears of it; only the writer or the owner may replace it', async () => {
    const s = await network(30, 31);
    const [bob, alice, mallory, carol] = [s.nodes[4]!, s.nodes[11]!, s.nodes[17]!, s.nodes[23]!];
    const events = listen(bob);
    const stored: unknown[] = [];
    bob.dht.on('record:stored', (e) => stored.push(e));
    const key = slot(bob.peer, 0);
    const put = await s.clock.runUntil(alice.dht.put(key, enc.encode('hello bob')));
    expect(put.replicas).toBeGreaterThanOrEqual(20);
    // Placed at the recipient: bob is one of the holders, and was told.
    expect(put.lookup.requests).toBeGreaterThan(0);
    expect(events).toHaveLength(1);
    expect(events[0]!.from.equals(alice.peer)).toBe(true);
    expect(new TextDecoder().decode(events[0]!.record.value)).toBe('hello bob');
    expect(stored).toHaveLength(1);
    expect(
      bob.dht.held({ prefix: Buffer.concat([Buffer.from('/mbox/'), bob.peer.bytes]) }),
    ).toHaveLength(1);
    expect(bob.dht.held({ prefix: enc.encode('/nothing/') })).toHaveLength(0);

    // Mallory cannot overwrite Alice's message, even with a higher seq.
    await expect(
      s.clock.runUntil(mallory.dht.put(key, enc.encode('spoofed'), { seq: put.seq + 1000 })),
    ).rejects.toMatchObject({ reason: 'replace-refused' });
    const read = await s.clock.runUntil(carol.dht.get(key));
    expect(new TextDecoder().decode(read!.value)).toBe('hello bob');
    expect(events).toHaveLength(1);

    // Bob (the owner, not the publisher) deletes it; the slot is free for another writer.
    const del = await s.clock.runUntil(bob.dht.delete(key));
    expect(del.seq).toBeGreaterThan(put.seq);
    expect(await s.clock.runUntil(carol.dht.get(key, { hideDeleted: true }))).toBeUndefined();
    const tomb = await s.clock.runUntil(carol.dht.get(key));
    expect(tomb?.value).toHaveLength(0);
    expect(bytesEq(tomb!.publisher, bob.peer.publicKey)).toBe(true);
    await s.clock.runUntil(carol.dht.put(key, enc.encode('from carol')));
    expect(new TextDecoder().decode((await s.clock.runUntil(alice.dht.get(key)))!.value)).toBe(
      'from carol',
    );
    expect(events.map((e) => e.from.toString())).toContain(carol.peer.toString());
  });

  it('refuses mailbox keys that name no peer, and places keys at their peer', async () => {
    const s = await network(12, 32);
    const a = s.nodes[3]!;
    await expect(
      s.clock.runUntil(
        a.dht.put(enc.encode('/mbox/not-a-peer-id-at-all-not-a-peer-id'), enc.encode('x')),
      ),
    ).rejects.toMatchObject({ reason: 'validator' });
    // The lookup of a peer-placed key converges on the peer itself.
    const target = s.nodes[8]!;
    await s.clock.runUntil(a.dht.put(slot(target.peer, 1), enc.encode('x')));
    const closest = await s.clock.runUntil(a.dht.findClosestPeers(kadIdOfPeer(target.peer)));
    expect(closest.peers[0]!.peer.equals(target.peer)).toBe(true);
    expect(target.dht.held()).toHaveLength(1);
  });

  it('hands a returning recipient what was written while it was away', async () => {
    const s = await network(30, 33);
    const bob = s.nodes[6]!;
    const alice = s.nodes[20]!;
    await s.clock.runUntil(bob.dht.stop());
    s.net.remove(bob.peer);
    bob.alive = false;
    await s.clock.runUntil(alice.dht.put(slot(bob.peer, 2), enc.encode('while you were out')));
    // Bob comes back with the same identity and store; its neighbours push the record to it.
    const back = await s.addNode([s.nodes[0]!.address], {
      identity: bob.identity,
      store: bob.store,
      address: bob.address,
    });
    const events = listen(back);
    await s.clock.runUntil(back.dht.bootstrap());
    await s.clock.run(5000);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(new TextDecoder().decode(events[0]!.record.value)).toBe('while you were out');
    expect(back.dht.held({ prefix: slot(bob.peer, 2) })).toHaveLength(1);
  });
});
