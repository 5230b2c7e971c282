import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '@detr/interface';
import { Deadlines, type DeadlineOwner } from '../../src/mux/deadlines.js';

function owner(): DeadlineOwner & { pings: Uint8Array[]; timeouts: number; idles: number } {
  return {
    pings: [],
    timeouts: 0,
    idles: 0,
    sendPing(nonce) {
      this.pings.push(nonce);
    },
    keepaliveTimedOut() {
      this.timeouts++;
    },
    idleTimedOut() {
      this.idles++;
    },
  };
}

describe('mux deadlines (one timer per connection)', () => {
  it('pings every interval while answered, on one timer', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 1000, 3000);
    d.pingNow();
    expect(o.pings).toHaveLength(1);
    d.pong(o.pings[0]!);
    expect(d.rttMs).toBeGreaterThanOrEqual(0);
    d.idle(10_000);
    expect(clock.pending()).toBe(1);
    clock.advance(999);
    expect(o.pings).toHaveLength(1);
    clock.advance(1);
    expect(o.pings).toHaveLength(2);
    d.pong(o.pings[1]!);
    clock.advance(1000);
    expect(o.pings).toHaveLength(3);
    expect(clock.pending()).toBe(1);
    expect(o.timeouts).toBe(0);
    d.stop();
    clock.advance(10_000);
    expect(o.pings).toHaveLength(3);
    expect(clock.pending()).toBe(0);
  });

  it('connections on one clock share one clock timer, each woken at its own time', () => {
    const clock = createManualClock();
    const owners = [owner(), owner(), owner()];
    const ds = owners.map((o, i) => new Deadlines(o, clock, 1000 * (i + 1), 60_000));
    for (const d of ds) d.pingNow();
    owners.forEach((o, i) => ds[i]!.pong(o.pings[0]!));
    expect(clock.pending()).toBe(1);
    clock.advance(1000);
    expect(owners.map((o) => o.pings.length)).toEqual([2, 1, 1]);
    owners.forEach((o, i) => ds[i]!.pong(o.pings.at(-1)!));
    clock.advance(1000);
    expect(owners.map((o) => o.pings.length)).toEqual([3, 2, 1]);
    clock.advance(1000);
    expect(owners.map((o) => o.pings.length)).toEqual([3, 2, 2]);
    expect(clock.pending()).toBe(1);
    for (const d of ds) d.stop();
  });

  it('times out a ping unanswered for the timeout, and sends no second ping meanwhile', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 1000, 3000);
    d.pingNow();
    clock.advance(2999);
    expect(o.pings).toHaveLength(1);
    expect(o.timeouts).toBe(0);
    clock.advance(1);
    expect(o.timeouts).toBe(1);
    clock.advance(10_000);
    expect(o.timeouts).toBe(1);
    expect(o.pings).toHaveLength(1);
  });

  it('a late pong (after the next ping was due) sends the next ping at once', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 1000, 3000);
    d.pingNow();
    clock.advance(1500);
    expect(o.pings).toHaveLength(1);
    d.pong(o.pings[0]!);
    expect(o.pings).toHaveLength(2);
    // A pong with another nonce is ignored: the second ping still times out.
    d.pong(o.pings[0]!);
    clock.advance(3000);
    expect(o.timeouts).toBe(1);
  });

  it('with keepalive disabled, sends only the first ping (still bounded by the timeout)', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 0, 3000);
    d.pingNow();
    d.pong(o.pings[0]!);
    clock.advance(60_000);
    expect(o.pings).toHaveLength(1);
  });

  it('idle fires after its timeout unless busy first; 0 never fires', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 0, 3000);
    d.idle(1000);
    clock.advance(500);
    d.busy();
    clock.advance(5000);
    expect(o.idles).toBe(0);
    d.idle(1000);
    // Idle again while already idle does not push the deadline back.
    clock.advance(600);
    d.idle(1000);
    clock.advance(400);
    expect(o.idles).toBe(1);
    d.idle(0);
    clock.advance(60_000);
    expect(o.idles).toBe(1);
  });

  it('a dialer that heard nothing pings after the given delay', () => {
    const clock = createManualClock();
    const o = owner();
    const d = new Deadlines(o, clock, 1000, 3000);
    d.pingAfter(1000);
    clock.advance(999);
    expect(o.pings).toHaveLength(0);
    clock.advance(1);
    expect(o.pings).toHaveLength(1);
  });

  it('wakes hundreds of connections on time from one heap, and a stopped one never again', () => {
    const clock = createManualClock();
    // Deterministic pseudo-random intervals (1..97 ms).
    let seed = 7;
    const next = (): number => (seed = (seed * 48271) % 2147483647) % 97;
    const all = Array.from({ length: 300 }, () => {
      const intervalMs = 1 + next();
      const pings: number[] = [];
      const d: Deadlines = new Deadlines(
        {
          sendPing: (nonce) => {
            pings.push(clock.now());
            d.pong(nonce); // answered at once
          },
          keepaliveTimedOut: () => {
            throw new Error('no timeout expected');
          },
          idleTimedOut: () => {},
        },
        clock,
        intervalMs,
        10_000,
      );
      return { d, intervalMs, pings, stopped: false };
    });
    const start = clock.now();
    for (const c of all) c.d.pingNow();
    for (let step = 0; step < 50; step++) {
      clock.advance(7);
      if (step === 20) {
        for (const c of all.filter((_, i) => i % 3 === 0)) {
          c.d.stop();
          c.stopped = true;
        }
      }
    }
    const end = clock.now();
    for (const c of all) {
      // Pings exactly every interval from the first one, until stopped.
      c.pings.forEach((t, i) => expect(t).toBe(start + i * c.intervalMs));
      if (!c.stopped) expect(c.pings).toHaveLength(Math.floor((end - start) / c.intervalMs) + 1);
      else expect(c.pings.at(-1)!).toBeLessThanOrEqual(start + 21 * 7);
    }
    expect(clock.pending()).toBe(1);
    for (const c of all) c.d.stop();
  });
});
