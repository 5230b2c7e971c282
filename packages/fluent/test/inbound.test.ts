import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createManualClock, type PeerReporter } from '@detr/interface';
import { createInboundLimiter } from '../src/index.js';
import { fakePeer } from './helpers.js';

function recorder(): PeerReporter & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    penalize: (peer, reason, weight) => void calls.push(`${peer.toString()}:${reason}:${weight}`),
    reward: () => {},
  };
}

describe('inbound limiter', () => {
  it('drops what exceeds the per-peer message rate and penalises at most once per interval', () => {
    const clock = createManualClock();
    const reporter = recorder();
    const inbound = createInboundLimiter(
      { clock, peerReporter: reporter },
      { peerLimit: { messagesPerSec: 10, burstMessages: 10 }, penaltyWeight: 2 },
    );
    const a = fakePeer('A');
    const results = Array.from({ length: 15 }, () => inbound.accept(a, 'chat', 10));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(reporter.calls).toEqual(['A:rate-limit:2']);
    clock.advance(999);
    expect(inbound.accept(a, 'chat', 10)).toBe(true); // 9.99 tokens came back
    for (let i = 0; i < 20; i++) inbound.accept(a, 'chat', 10);
    expect(reporter.calls).toHaveLength(1);
    clock.advance(1);
    for (let i = 0; i < 20; i++) inbound.accept(a, 'chat', 10);
    expect(reporter.calls).toHaveLength(2);
    expect(inbound.stats()).toMatchObject({ accepted: 20, dropped: 36, penalties: 2 });
  });

  it('applies per-channel quotas on top of the peer quota, channel by channel', () => {
    const clock = createManualClock();
    const inbound = createInboundLimiter(
      { clock },
      {
        peerLimit: {},
        channelLimits: { gossip: { messagesPerSec: 5 }, chat: {} },
        defaultChannelLimit: { bytesPerSec: 1000 },
      },
    );
    const a = fakePeer('A');
    const b = fakePeer('B');
    const count = (peer = a, channel = 'gossip', bytes = 1, n = 100): number =>
      Array.from({ length: n }, () => inbound.accept(peer, channel, bytes)).filter(Boolean).length;
    expect(count(a, 'gossip')).toBe(5);
    expect(count(b, 'gossip')).toBe(5); // per peer and channel
    expect(count(a, 'chat', 1_000_000)).toBe(100); // named without a quota: unlimited
    expect(count(a, 'files', 400)).toBe(3); // default channel quota: 1,000 B/s on credit
    const s = inbound.stats();
    expect(Object.keys(s.channels).sort()).toEqual(['*', 'chat', 'gossip']);
    expect(s.channels.gossip).toEqual({ accepted: 10, dropped: 190 });
    expect(s.channels['*']).toEqual({ accepted: 3, dropped: 97 });
  });

  it('keeps memory bounded under hostile peers and channel names', () => {
    const clock = createManualClock();
    const inbound = createInboundLimiter(
      { clock },
      { maxPeers: 100, maxChannelsPerPeer: 4, defaultChannelLimit: { messagesPerSec: 1 } },
    );
    for (let i = 0; i < 5000; i++) inbound.accept(fakePeer(`peer-${i}`), `ch-${i}`, 1);
    expect(inbound.stats().trackedPeers).toBeLessThanOrEqual(100);
    expect(inbound.stats().evictedPeers).toBeGreaterThanOrEqual(4900);
    // one peer cycling through a million channel names with huge names
    const a = fakePeer('A');
    const huge = 'x'.repeat(100_000);
    for (let i = 0; i < 300; i++) inbound.accept(a, `${huge}${i}`, 1);
    // names are truncated to 128 characters: all those share one quota and drop
    expect(inbound.peerStats(a)).toMatchObject({ accepted: 1 });
    expect(Object.keys(inbound.stats().channels)).toEqual(['*']);
  });

  it('forgets idle peers (whose quota would be full again anyway)', () => {
    const clock = createManualClock();
    const inbound = createInboundLimiter({ clock }, { idleMs: 60_000 });
    for (let i = 0; i < 50; i++) inbound.accept(fakePeer(`p${i}`), 'c', 1);
    expect(inbound.stats().trackedPeers).toBe(50);
    clock.advance(60_000);
    for (let i = 0; i < 30; i++) inbound.accept(fakePeer('fresh'), 'c', 1);
    expect(inbound.stats().trackedPeers).toBe(1);
  });

  it('survives a PeerReporter that throws', () => {
    const clock = createManualClock();
    const inbound = createInboundLimiter(
      {
        clock,
        peerReporter: {
          penalize: () => {
            throw new Error('dpeers is down');
          },
          reward: () => {},
        },
      },
      { peerLimit: { messagesPerSec: 1 } },
    );
    const a = fakePeer('A');
    expect(inbound.accept(a, 'c', 1)).toBe(true);
    expect(inbound.accept(a, 'c', 1)).toBe(false);
    expect(inbound.stats().penalties).toBe(1);
  });

  it('rejects bad options and caller bugs, never remote input', () => {
    expect(() => createInboundLimiter({}, { maxPeers: 0 })).toThrow(RangeError);
    expect(() => createInboundLimiter({}, { idleMs: -1 })).toThrow(RangeError);
    expect(() => createInboundLimiter({}, { peerLimit: { messagesPerSec: 0 } })).toThrow(
      RangeError,
    );
    const inbound = createInboundLimiter();
    expect(() => inbound.accept(fakePeer('A'), 'c', -1)).toThrow(TypeError);
    expect(() => inbound.accept(fakePeer('A'), 'c', Number.NaN)).toThrow(TypeError);
    expect(inbound.accept(fakePeer('A'), 42 as any, 1)).toBe(true);
  });

  it('property: any sequence of inputs is accounted without throwing, within the quota, in bounded memory', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            peer: fc.integer({ min: 0, max: 40 }),
            channel: fc.oneof(fc.constantFrom('chat', 'gossip'), fc.string({ maxLength: 300 })),
            bytes: fc.nat({ max: 100_000 }),
            advanceMs: fc.nat({ max: 2000 }),
          }),
          { maxLength: 300 },
        ),
        (events) => {
          const clock = createManualClock();
          const reporter = recorder();
          const limits = {
            peerLimit: { messagesPerSec: 50, bytesPerSec: 200_000 },
            defaultChannelLimit: { messagesPerSec: 5 },
          };
          // a small table (evicts) and a roomy one (never evicts) see the same traffic
          const small = createInboundLimiter(
            { clock, peerReporter: reporter },
            { ...limits, maxPeers: 8, maxChannelsPerPeer: 3 },
          );
          const roomy = createInboundLimiter({ clock }, { ...limits, idleMs: 1e12 });
          const start = clock.now();
          const accepted = new Map<number, number>();
          for (const e of events) {
            clock.advance(e.advanceMs);
            const peer = fakePeer(`p${e.peer}`);
            small.accept(peer, e.channel, e.bytes);
            if (roomy.accept(peer, e.channel, e.bytes)) {
              accepted.set(e.peer, (accepted.get(e.peer) ?? 0) + 1);
            }
            expect(small.stats().trackedPeers).toBeLessThanOrEqual(8);
          }
          const s = small.stats();
          expect(s.accepted + s.dropped).toBe(events.length);
          expect(s.penalties).toBe(reporter.calls.length);
          expect(s.penalties).toBeLessThanOrEqual(s.dropped);
          // no peer gets more than its burst plus its rate over the elapsed time
          const elapsedSec = (clock.now() - start) / 1000;
          for (const n of accepted.values()) expect(n).toBeLessThanOrEqual(50 + 50 * elapsedSec);
        },
      ),
      { numRuns: 200 },
    );
  });
});
