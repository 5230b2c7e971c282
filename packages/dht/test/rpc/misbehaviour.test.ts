// Peers that answer garbage, time out, or send hostile requests are penalised through the
// PeerReporter and dropped from the routing table; nothing throws out of a handler.
import { afterEach, describe, expect, it } from '@jest/globals';
import { DhtStatus } from '@detr/protocol';
import { Simulation } from '../../src/sim/harness.js';
import { kadIdOfPeer } from '../../src/keys.js';
import { recordingReporter } from '../support/fixtures.js';
import { ok, rogue } from '../support/rogue.js';

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.stopAll();
  sim = undefined;
});

async function setup() {
  sim = new Simulation({ seed: 9 });
  const s = sim;
  await s.grow(12, 6);
  const reporter = recordingReporter();
  const victim = await s.addNode([s.nodes[0]!.address], { reporter });
  await s.clock.runUntil(victim.dht.bootstrap());
  return { s, reporter, victim };
}

describe('misbehaving peers', () => {
  it('garbage answers: penalised as invalid-message and dropped', async () => {
    const { s, reporter, victim } = await setup();
    const bad = rogue(s, '/ip4/66.0.0.1/tcp/1', (i) => ({
      ...ok(i.request),
      closerPeers: [{ peer: new Uint8Array([9, 9, 9]), addresses: ['/ip4/1.2.3.4/tcp/1'] }],
    }));
    await bad.introduce([victim]);
    expect(victim.dht.peers().some((p) => p.peer.equals(bad.peer))).toBe(true);
    await s.clock.runUntil(victim.dht.findClosestPeers(kadIdOfPeer(bad.peer)));
    expect(reporter.of(bad.peer).map((p) => p.reason)).toContain('invalid-message');
    expect(victim.dht.peers().some((p) => p.peer.equals(bad.peer))).toBe(false);
  });

  it('wrong request ids and unexpected statuses count as invalid too', async () => {
    const { s, reporter, victim } = await setup();
    const liar = rogue(s, '/ip4/66.0.0.2/tcp/1', (i) => ({
      ...ok(i.request),
      requestId: i.request.requestId + 1,
    }));
    await liar.introduce([victim]);
    await s.clock.runUntil(victim.dht.findClosestPeers(kadIdOfPeer(liar.peer)));
    expect(reporter.of(liar.peer).map((p) => p.reason)).toContain('invalid-message');
    const refuser = rogue(s, '/ip4/66.0.0.3/tcp/1', (i) => ({
      ...ok(i.request),
      status: DhtStatus.DHT_STATUS_ERROR,
    }));
    await refuser.introduce([victim]);
    await s.clock.runUntil(victim.dht.findClosestPeers(kadIdOfPeer(refuser.peer)));
    expect(reporter.of(refuser.peer).map((p) => p.reason)).toContain('invalid-message');
  });

  it('timeouts: penalised and dropped', async () => {
    const { s, reporter, victim } = await setup();
    const mute = rogue(s, '/ip4/66.0.0.4/tcp/1', () => undefined);
    await mute.introduce([victim]);
    expect(victim.dht.peers().some((p) => p.peer.equals(mute.peer))).toBe(true);
    await s.clock.runUntil(victim.dht.findClosestPeers(kadIdOfPeer(mute.peer)));
    expect(reporter.of(mute.peer).map((p) => p.reason)).toContain('timeout');
    expect(victim.dht.peers().some((p) => p.peer.equals(mute.peer))).toBe(false);
  });

  it('hostile requests get an error status and a penalty, never an exception', async () => {
    const { s, reporter, victim } = await setup();
    const r = rogue(s, '/ip4/66.0.0.5/tcp/1');
    const short = await s.clock.runUntil(
      r.send(victim, { body: 'findNode', findNode: { key: new Uint8Array(5) } }),
    );
    expect(short.status).toBe(DhtStatus.DHT_STATUS_BAD_REQUEST);
    expect(reporter.of(r.peer).map((p) => p.reason)).toContain('protocol-violation');
    const missing = await s.clock.runUntil(
      r.send(victim, { body: 'findValue', findValue: { key: new Uint8Array([1]) } }),
    );
    expect(missing.status).toBe(DhtStatus.DHT_STATUS_NOT_FOUND);
    const forged = await s.clock.runUntil(
      r.send(victim, {
        body: 'store',
        store: {
          record: {
            payloadType: 50,
            body: new Uint8Array([1, 2, 3]),
            signer: new Uint8Array(32),
            signature: new Uint8Array(64),
          },
        },
      }),
    );
    expect(forged.status).toBe(DhtStatus.DHT_STATUS_INVALID_RECORD);
    expect(reporter.of(r.peer).map((p) => p.reason)).toContain('bad-record');
    expect(victim.dht.stats().invalidMessages).toBeGreaterThan(0);
  });
});
