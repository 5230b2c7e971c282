import { afterEach, describe, expect, it } from '@jest/globals';
import type { PeerId, PenaltyReason, SharedRecords } from '@detr/interface';
import { encodeFrame, MessageType } from '@detr/protocol';
import { createSignaling, type Signaling } from '../../src/signaling/service.js';
import { SIGNAL_PROTOCOL, type SignalPath } from '../../src/signaling/path.js';
import type { SignalBody } from '../../src/signaling/signal.js';
import { connect, fakePeer, type FakePeer } from '../support/fake-net.js';
import { memoryRecords } from '../support/memory-records.js';

const offer: SignalBody = {
  kind: 'offer',
  sdp: 'v=0\r\na=fingerprint:sha-256 AA:BB\r\n',
  fingerprint: 'sha-256 AA:BB',
  stage: 'direct',
  nat: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
};
const answer: SignalBody = { ...offer, kind: 'answer' };

const started: Signaling[] = [];
afterEach(() => {
  for (const s of started.splice(0)) s.stop();
});

function node(
  peer: FakePeer,
  extra: {
    records?: SharedRecords;
    penalties?: Array<[string, PenaltyReason]>;
    init?: Parameters<typeof createSignaling>[1];
  } = {},
): Signaling {
  const s = createSignaling(
    {
      peerId: peer.peerId,
      connections: peer,
      ...(extra.records ? { records: extra.records } : {}),
      reporter: {
        penalize: (p: PeerId, r: PenaltyReason) => extra.penalties?.push([p.toString(), r]),
        reward: () => {},
      },
    },
    { dhtPollIntervalMs: 50, dhtFastPollMs: 20, ...extra.init },
  );
  peer.handlers.set(SIGNAL_PROTOCOL, s.handler);
  s.start();
  started.push(s);
  return s;
}

type Inbound = { path: SignalPath; from: PeerId; offer: SignalBody };
function inbox(s: Signaling): Inbound[] {
  const got: Inbound[] = [];
  s.onOffer((path, from, o) => got.push({ path, from, offer: o }));
  return got;
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('signaling over a direct connection', () => {
  it('delivers the offer and carries the negotiation both ways', async () => {
    const [a, b] = [fakePeer(), fakePeer()];
    const [ab] = connect(a, b);
    const sa = node(a);
    const got = inbox(node(b));
    const path = await sa.openPath(b.peerId, ab, new Uint8Array(16).fill(1));
    expect(path.route).toBe('direct');
    await path.send(offer);
    await path.send({
      kind: 'candidate',
      candidate: 'candidate:1 1 UDP 1 203.0.113.5 5000 typ host',
      mid: '0',
    });
    await until(() => got.length === 1);
    expect(got[0]!.from.equals(a.peerId)).toBe(true);
    expect(got[0]!.offer).toEqual(offer);
    expect(got[0]!.path.route).toBe('direct');
    expect(await got[0]!.path.next()).toMatchObject({ kind: 'candidate' });
    await got[0]!.path.send(answer);
    expect(await path.next()).toEqual(answer);
  });
});

describe('signaling through a mutual peer', () => {
  it('forwards between two peers that share no connection', async () => {
    const [a, m, b] = [fakePeer(), fakePeer(), fakePeer()];
    const [am] = connect(a, m);
    connect(m, b);
    const sa = node(a);
    const sm = node(m);
    const got = inbox(node(b));
    const path = await sa.openPath(b.peerId, am, new Uint8Array(16).fill(2));
    expect(path.route).toBe('relay');
    await path.send(offer);
    await until(() => got.length === 1);
    expect(got[0]!.path.route).toBe('relay');
    expect(got[0]!.from.equals(a.peerId)).toBe(true);
    await got[0]!.path.send(answer);
    expect(await path.next()).toEqual(answer);
    expect(sm.stats.forwarded).toBe(1);
  });

  it('refuses to forward to a peer it has no connection to, and penalizes a forged sender', async () => {
    const [a, m, b, c] = [fakePeer(), fakePeer(), fakePeer(), fakePeer()];
    const [am] = connect(a, m);
    const penalties: Array<[string, PenaltyReason]> = [];
    const sm = node(m, { penalties });
    const sa = node(a);
    const path = await sa.openPath(b.peerId, am, new Uint8Array(16).fill(3));
    await path.send(offer);
    await expect(path.next({ signal: AbortSignal.timeout(3000) })).rejects.toThrow();
    expect(sm.stats.forwardsRefused).toBe(1);
    // A frame claiming to come from c over a's connection.
    const stream = await am.newStream(SIGNAL_PROTOCOL);
    stream.write(
      encodeFrame(MessageType.Signal, {
        sessionId: new Uint8Array(4),
        from: c.peerId.bytes,
        to: b.peerId.bytes,
        offer: { sdp: 'x' },
      }),
    );
    await until(() => penalties.length === 1);
    expect(penalties[0]).toEqual([a.peerId.toString(), 'protocol-violation']);
  });

  it('cuts a forwarded negotiation past its byte limit', async () => {
    const [a, m, b] = [fakePeer(), fakePeer(), fakePeer()];
    const [am] = connect(a, m);
    connect(m, b);
    node(m, { init: { forwardBytes: 2000 } });
    const got = inbox(node(b));
    const path = await node(a).openPath(b.peerId, am, new Uint8Array(16).fill(4));
    await path.send(offer);
    await until(() => got.length === 1);
    const big = { kind: 'candidate', candidate: 'c'.repeat(500), mid: '0' } as const;
    await (async () => {
      for (let i = 0; i < 10; i++) await path.send(big);
    })().catch(() => {});
    let received = 0;
    await expect(
      (async () => {
        for (;;) {
          await got[0]!.path.next({ signal: AbortSignal.timeout(3000) });
          received++;
        }
      })(),
    ).rejects.toThrow();
    expect(received).toBeLessThan(4);
  });

  it('penalizes garbage on the signaling stream', async () => {
    const [a, b] = [fakePeer(), fakePeer()];
    const [ab] = connect(a, b);
    const penalties: Array<[string, PenaltyReason]> = [];
    node(b, { penalties });
    const s = await ab.newStream(SIGNAL_PROTOCOL);
    s.write(Buffer.from([5, 1, 80, 0xff, 0xff, 0xff]));
    await until(() => penalties.length === 1);
    expect(penalties[0]![1]).toBe('protocol-violation');
  });
});

describe('signaling through the DHT', () => {
  it('exchanges offer and answer through mailbox records with no connection at all', async () => {
    const [a, b] = [fakePeer(), fakePeer()];
    const records = memoryRecords();
    const sa = node(a, { records: records.as(a.peerId) });
    const got = inbox(node(b, { records: records.as(b.peerId) }));
    const path = sa.openDhtPath(b.peerId, new Uint8Array(16).fill(5))!;
    expect(path.trickle).toBe(false);
    await path.send(offer);
    await until(() => got.length === 1);
    expect(got[0]!.path.route).toBe('dht');
    expect(got[0]!.from.equals(a.peerId)).toBe(true);
    await got[0]!.path.send(answer);
    expect(await path.next({ signal: AbortSignal.timeout(3000) })).toEqual(answer);
    path.close();
  });

  it('the record validator refuses a signal whose sender is not the signer', async () => {
    const [a, b, c] = [fakePeer(), fakePeer(), fakePeer()];
    const forged = memoryRecords().as(c.peerId);
    const s = createSignaling({ peerId: a.peerId, connections: a, records: forged });
    const path = s.openDhtPath(b.peerId, new Uint8Array(3).fill(1))!;
    await expect(path.send(offer)).rejects.toThrow('invalid record');
    path.close();
    s.stop();
  });
});
