// Reputation: penalties and rewards, exponential decay toward neutral, bans at the threshold
// with growing duration, manual bans, events.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { createManualClock, type ManualClock } from '@detr/interface';
import { DEFAULT_PENALTIES, createDpeers, type Dpeers, type DpeersInit } from '../src/index.js';
import { fakePeerId } from './support/fakes.js';

let clock: ManualClock;
const make = (init: DpeersInit = {}): Dpeers => createDpeers({ clock }, init);
const MIN = 60_000;

beforeEach(() => {
  clock = createManualClock();
});

describe('scores', () => {
  it('starts neutral, loses the configured points per penalty (× weight), gains per reward', () => {
    const d = make();
    const p = fakePeerId(1);
    expect(d.score(p)).toBe(0);
    d.penalize(p, 'timeout');
    expect(d.score(p)).toBe(-DEFAULT_PENALTIES.timeout);
    d.penalize(p, 'invalid-message', 0.5);
    expect(d.score(p)).toBe(-2 - 5);
    d.reward(p, 'answered', 3);
    expect(d.score(p)).toBe(-4);
    expect(d.stats()).toMatchObject({ penalties: 2, rewards: 1 });
  });

  it('uses a custom penalty table and clamps scores to [-100, 100]', () => {
    const d = make({ penalties: { timeout: 7 }, banThreshold: 100 });
    const p = fakePeerId(2);
    d.penalize(p, 'timeout');
    expect(d.score(p)).toBe(-7);
    const q = fakePeerId(3);
    for (let i = 0; i < 500; i++) d.reward(q, 'x');
    expect(d.score(q)).toBe(100);
    expect(() => make({ penalties: { timeout: -1 } })).toThrow(RangeError);
    expect(() => make({ banThreshold: 150 })).toThrow(RangeError);
  });

  it('decays toward neutral with the configured half-life', () => {
    const d = make({ scoreHalfLifeMs: 10 * MIN });
    const p = fakePeerId(4);
    d.penalize(p, 'bad-record'); // -20
    clock.advance(10 * MIN);
    expect(d.score(p)).toBeCloseTo(-10, 6);
    clock.advance(10 * MIN);
    expect(d.score(p)).toBeCloseTo(-5, 6);
    d.reward(p, 'x', 5); // -5 + 5
    expect(d.score(p)).toBeCloseTo(0, 6);
    const q = fakePeerId(5);
    d.reward(q, 'x', 8);
    clock.advance(1000 * MIN);
    expect(d.score(q)).toBe(0);
  });

  it('never throws on odd weights or unknown reasons from handlers', () => {
    const d = make();
    const p = fakePeerId(6);
    d.penalize(p, 'timeout', Number.NaN);
    d.penalize(p, 'timeout', -5);
    d.penalize(p, 'timeout', Infinity);
    d.penalize(p, 'no-such-reason' as any);
    d.reward(p, 'x', Number.NaN);
    expect(Number.isFinite(d.score(p))).toBe(true);
  });
});

describe('bans', () => {
  it('bans at -banThreshold and lifts the ban when it ends', () => {
    const d = make({ banThreshold: 50, banBaseMs: 10 * MIN });
    const p = fakePeerId(7);
    const events: Array<{ untilMs: number; reason: string }> = [];
    d.on('peer:banned', (e) => events.push({ untilMs: e.untilMs, reason: e.reason }));
    d.penalize(p, 'bad-record');
    d.penalize(p, 'bad-record');
    expect(d.isBanned(p)).toBe(false); // -40
    d.penalize(p, 'invalid-message'); // -50
    expect(d.isBanned(p)).toBe(true);
    expect(events).toEqual([{ untilMs: clock.now() + 10 * MIN, reason: 'invalid-message' }]);
    expect(d.get(p)?.bannedUntilMs).toBe(clock.now() + 10 * MIN);
    expect(d.stats()).toMatchObject({ bannedPeers: 1, bans: 1 });
    clock.advance(10 * MIN - 1);
    expect(d.isBanned(p)).toBe(true);
    clock.advance(1);
    expect(d.isBanned(p)).toBe(false);
    expect(d.get(p)?.bannedUntilMs).toBeUndefined();
  });

  it('doubles each ban of the same peer up to banMaxMs, and forgets after banCountResetMs', () => {
    const d = make({ banBaseMs: 10 * MIN, banMaxMs: 60 * MIN, banCountResetMs: 24 * 60 * MIN });
    const p = fakePeerId(8);
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock.now();
      d.ban(p, { reason: 'test' });
      const until = d.get(p)?.bannedUntilMs as number;
      lengths.push((until - before) / MIN);
      clock.advance(until - before);
    }
    expect(lengths).toEqual([10, 20, 40, 60, 60]);
    expect(d.get(p)?.banCount).toBe(5);
    clock.advance(24 * 60 * MIN + 1);
    d.ban(p);
    expect(d.get(p)?.banCount).toBe(1);
    expect((d.get(p)?.bannedUntilMs as number) - clock.now()).toBe(10 * MIN);
  });

  it('bans and unbans by hand; an unbanned peer is not re-banned by its next small penalty', () => {
    const d = make();
    const p = fakePeerId(9);
    const unbanned: string[] = [];
    d.on('peer:unbanned', (e) => unbanned.push(e.peer.toString()));
    for (let i = 0; i < 6; i++) d.penalize(p, 'invalid-message');
    expect(d.isBanned(p)).toBe(true);
    d.unban(p);
    expect(d.isBanned(p)).toBe(false);
    expect(unbanned).toEqual([p.toString()]);
    d.penalize(p, 'timeout');
    expect(d.isBanned(p)).toBe(false);
    d.ban(p, { durationMs: 1000, reason: 'manual' });
    expect(d.get(p)?.bannedUntilMs).toBe(clock.now() + 1000);
    const off = d.on('peer:unbanned', () => unbanned.push('again'));
    off();
    d.unban(p);
    expect(unbanned).toHaveLength(2);
  });

  it('keeps a throwing event listener from breaking the caller', () => {
    const d = make();
    d.on('peer:banned', () => {
      throw new Error('listener bug');
    });
    expect(() => d.ban(fakePeerId(10))).not.toThrow();
    expect(d.isBanned(fakePeerId(10))).toBe(true);
  });
});
