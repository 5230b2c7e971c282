import { describe, expect, it } from '@jest/globals';
import type { Address, Connection, PeerId } from '@detr/interface';
import { createManualClock, parseAddress } from '@detr/interface';
import { createIdentity } from '@detr/aecomms';
import {
  AUTONAT_PROTOCOL,
  createAutoNatServer,
  createReachabilityTally,
  requestDialBack,
} from '../src/autonat.js';
import { connect, fakePeer } from './support/fake-net.js';

describe('AutoNAT', () => {
  const setup = (dialBack: (a: Address, p: PeerId) => Promise<Connection>) => {
    const [client, server] = [fakePeer(), fakePeer()];
    const s = createAutoNatServer({ dialBack: (a, p) => dialBack(a, p) });
    server.handlers.set(AUTONAT_PROTOCOL, s.handler);
    const [cs] = connect(client, server, { a: '/ip4/203.0.113.7/tcp/50000' });
    return { client, server, s, cs };
  };

  it('dials back an address on the IP it sees the client at, and reports success', async () => {
    const dialed: string[] = [];
    const { cs, s } = setup((a) => {
      dialed.push(a.toString());
      return Promise.resolve({ close: () => Promise.resolve() } as unknown as Connection);
    });
    const r = await requestDialBack(cs, [
      parseAddress('/ip4/198.51.100.9/tcp/4001'),
      parseAddress('/ip4/203.0.113.7/tcp/4001'),
    ]);
    expect(r).toEqual({ ok: true, address: '/ip4/203.0.113.7/tcp/4001' });
    expect(dialed).toEqual(['/ip4/203.0.113.7/tcp/4001']);
    expect(s.stats.dialed).toBe(1);
  });

  it('refuses to dial other IPs (no reflection at third parties)', async () => {
    const { cs, s } = setup(() => Promise.reject(new Error('must not dial')));
    expect(await requestDialBack(cs, [parseAddress('/ip4/198.51.100.9/tcp/4001')])).toEqual({
      ok: false,
      refused: true,
    });
    expect(s.stats.refused).toBe(1);
  });

  it('reports a failed dial-back', async () => {
    const { cs } = setup(() => Promise.reject(new Error('unreachable')));
    expect(await requestDialBack(cs, [parseAddress('/ip4/203.0.113.7/tcp/4001')])).toEqual({
      ok: false,
      refused: false,
    });
  });

  it('tallies outcomes from distinct peers into a verdict that ages out', () => {
    const clock = createManualClock();
    const t = createReachabilityTally(2, clock, 60_000);
    const [p1, p2] = [createIdentity().peerId, createIdentity().peerId];
    expect(t.reachability).toBe('unknown');
    t.record(p1, { ok: false, refused: false });
    t.record(p1, { ok: false, refused: false });
    expect(t.reachability).toBe('unknown');
    t.record(p2, { ok: false, refused: true });
    expect(t.reachability).toBe('unknown');
    t.record(p2, { ok: false, refused: false });
    expect(t.reachability).toBe('private');
    t.record(p1, { ok: true, address: 'x' });
    t.record(p2, { ok: true, address: 'x' });
    expect(t.reachability).toBe('public');
    clock.advance(61_000);
    expect(t.reachability).toBe('unknown');
  });
});
