import { describe, expect, it } from '@jest/globals';
import { createManualClock, sleep, systemClock } from '../src/index.js';

describe('createManualClock', () => {
  it('runs timers in due order, ties in scheduling order', () => {
    const clock = createManualClock(0);
    const order: string[] = [];
    clock.setTimeout(() => order.push('b'), 20);
    clock.setTimeout(() => order.push('a'), 10);
    clock.setTimeout(() => order.push('c'), 20);
    clock.advance(15);
    expect(order).toEqual(['a']);
    expect(clock.now()).toBe(15);
    clock.advance(5);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(clock.pending()).toBe(0);
  });

  it('does not run cancelled timers and sees time at the moment a timer fires', () => {
    const clock = createManualClock(100);
    const seen: number[] = [];
    const t = clock.setTimeout(() => seen.push(-1), 5);
    clock.setTimeout(() => seen.push(clock.now()), 7);
    t.cancel();
    clock.advance(50);
    expect(seen).toEqual([107]);
  });

  it('runs timers scheduled by timers within the same advance', () => {
    const clock = createManualClock(0);
    let fired = 0;
    const tick = (): void => {
      fired++;
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(100);
    expect(fired).toBe(10);
  });

  it('advanceAsync lets promise chains schedule more timers', async () => {
    const clock = createManualClock(0);
    const done: number[] = [];
    void (async () => {
      await sleep(clock, 10);
      done.push(clock.now());
      await sleep(clock, 10);
      done.push(clock.now());
    })();
    await clock.advanceAsync(25);
    expect(done).toEqual([10, 20]);
  });
});

describe('sleep', () => {
  it('rejects with the abort reason', async () => {
    const clock = createManualClock(0);
    const ac = new AbortController();
    const p = sleep(clock, 1000, { signal: ac.signal });
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED', cause: reason });
    expect(clock.pending()).toBe(0);
  });

  it('works on the system clock', async () => {
    const start = systemClock.now();
    await sleep(systemClock, 5);
    expect(systemClock.now() - start).toBeGreaterThanOrEqual(4);
  });
});
