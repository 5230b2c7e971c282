// Random sequences of connection events, bans, rewards, protections and authorized-set changes:
// the gate's accounting and its promises hold after every step.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createManualClock } from '@detr/interface';
import { createDpeers } from '../src/index.js';
import { fakeConnection, fakePeerId, type FakeConnection } from './support/fakes.js';

const PEERS = 8;
const opArb = fc.oneof(
  fc.record({
    t: fc.constant('open' as const),
    p: fc.nat(PEERS - 1),
    out: fc.boolean(),
    ip: fc.nat(3),
  }),
  fc.record({ t: fc.constant('close' as const), i: fc.nat(50) }),
  fc.record({ t: fc.constant('penalize' as const), p: fc.nat(PEERS - 1) }),
  fc.record({ t: fc.constant('reward' as const), p: fc.nat(PEERS - 1) }),
  fc.record({ t: fc.constant('protect' as const), p: fc.nat(PEERS - 1), on: fc.boolean() }),
  fc.record({
    t: fc.constant('authorize' as const),
    set: fc.option(fc.uniqueArray(fc.nat(PEERS - 1))),
  }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
);

describe('gate invariants (property)', () => {
  it('counts stay exact; no banned or unauthorized peer keeps a connection; the limit holds', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const clock = createManualClock();
        const max = 4;
        const d = createDpeers({ clock }, { maxConnections: max, banThreshold: 20 });
        const conns: FakeConnection[] = [];
        let epoch = 0;
        for (const op of ops) {
          if (op.t === 'open') {
            const peer = fakePeerId(op.p);
            const remote = `/ip4/203.0.113.${op.ip + 1}/tcp/${conns.length + 1}`;
            const dir = op.out ? 'outbound' : 'inbound';
            if (d.allowPeer(peer, dir, fakeConnection(peer, dir, remote).remoteAddress)) {
              const c = fakeConnection(peer, dir, remote);
              conns.push(c);
              d.connectionOpened(c);
            }
          } else if (op.t === 'close') {
            conns[op.i % Math.max(1, conns.length)]?.finish();
          } else if (op.t === 'penalize') d.penalize(fakePeerId(op.p), 'invalid-message');
          else if (op.t === 'reward') d.reward(fakePeerId(op.p), 'x', 5);
          else if (op.t === 'protect') {
            if (op.on) d.protect(fakePeerId(op.p), 't');
            else d.unprotect(fakePeerId(op.p), 't');
          } else if (op.t === 'authorize') {
            if (op.set === null) d.clearAuthorized();
            else
              d.setAuthorized(
                ++epoch,
                op.set.map((p) => fakePeerId(p)),
              );
          } else clock.advance(op.ms);

          const open = conns.filter((c) => c.status !== 'closed');
          const s = d.stats().connections;
          expect(s.total).toBe(open.length);
          expect(s.inbound).toBe(open.filter((c) => c.direction === 'inbound').length);
          const live = open.filter((c) => c.status === 'open');
          for (const c of live) {
            expect(d.isBanned(c.remotePeer)).toBe(false);
            expect(d.isAuthorized(c.remotePeer)).toBe(true);
          }
          const unprotected = live.filter((c) => !d.isProtected(c.remotePeer));
          if (live.length > max) expect(unprotected.length).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
