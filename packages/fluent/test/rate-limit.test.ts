import { describe, expect, it } from '@jest/globals';
import { Histogram } from '../src/histogram.js';
import { TokenBucket } from '../src/rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then the sustained message rate', () => {
    let now = 0;
    const b = new TokenBucket({ messagesPerSec: 10, burstMessages: 5 }, now);
    let sent = 0;
    while (b.tryTake(1, now)) sent++;
    expect(sent).toBe(5);
    expect(b.delayMs(now)).toBe(100);
    now += 99;
    expect(b.tryTake(1, now)).toBe(false);
    now += 1;
    expect(b.tryTake(1, now)).toBe(true);
    // 10 s later: capped at the burst, not 100 tokens
    now += 10_000;
    sent = 0;
    while (b.tryTake(1, now)) sent++;
    expect(sent).toBe(5);
  });

  it('defaults the burst to one second of rate', () => {
    const b = new TokenBucket({ messagesPerSec: 1000 }, 0);
    let sent = 0;
    while (b.tryTake(1, 0)) sent++;
    expect(sent).toBe(1000);
  });

  it('works on byte credit: a burst never exceeds burstBytes by a whole message', () => {
    let now = 0;
    const b = new TokenBucket({ bytesPerSec: 1000 }, now);
    expect(b.tryTake(500, now)).toBe(true);
    expect(b.tryTake(500, now)).toBe(true);
    expect(b.tryTake(500, now)).toBe(false); // balance 0
    expect(b.delayMs(now)).toBe(1);
    // a message larger than the burst still goes when the bucket has credit, then is waited out
    now += 1000;
    expect(b.tryTake(5000, now)).toBe(true);
    expect(b.ready(now)).toBe(false);
    expect(b.delayMs(now)).toBe(4001);
    now += 4001;
    expect(b.ready(now)).toBe(true);
  });

  it('never gains tokens from a clock going backwards', () => {
    const b = new TokenBucket({ messagesPerSec: 1, burstMessages: 1 }, 10_000);
    expect(b.tryTake(0, 10_000)).toBe(true);
    expect(b.tryTake(0, 0)).toBe(false);
    expect(b.tryTake(0, 10_999)).toBe(false);
    expect(b.tryTake(0, 11_000)).toBe(true);
  });

  it('treats a missing or infinite dimension as unlimited and rejects bad limits', () => {
    expect(TokenBucket.unlimited(undefined)).toBe(true);
    expect(TokenBucket.unlimited({})).toBe(true);
    expect(TokenBucket.unlimited({ messagesPerSec: Infinity })).toBe(true);
    expect(TokenBucket.unlimited({ bytesPerSec: 1 })).toBe(false);
    expect(() => TokenBucket.unlimited({ messagesPerSec: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ messagesPerSec: Number.NaN }, 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ messagesPerSec: 1, burstMessages: 0.5 }, 0)).toThrow(RangeError);
    const onlyBytes = new TokenBucket({ bytesPerSec: 10 }, 0);
    let sent = 0;
    while (sent < 10_000 && onlyBytes.tryTake(0, 0)) sent++;
    expect(sent).toBe(10_000); // no message quota: empty messages are never limited
  });

  it('reports when it is full', () => {
    const b = new TokenBucket({ messagesPerSec: 2 }, 0);
    expect(b.full(0)).toBe(true);
    b.take(1, 0);
    expect(b.full(0)).toBe(false);
    expect(b.full(500)).toBe(true);
  });
});

describe('Histogram', () => {
  it('reports exact small values and bucket bounds above', () => {
    const h = new Histogram();
    expect(h.percentile(50)).toBe(0);
    for (let i = 1; i <= 100; i++) h.record(i);
    expect(h.percentile(50)).toBe(50);
    expect(h.percentile(99)).toBe(100);
    expect(h.percentile(100)).toBe(100);
    h.record(-5);
    h.record(1e9);
    expect(h.percentile(100)).toBe(Infinity);
  });

  it('forgets old samples by halving', () => {
    const h = new Histogram();
    for (let i = 0; i < 60_000; i++) h.record(1000);
    for (let i = 0; i < 70_000; i++) h.record(2);
    expect(h.percentile(50)).toBe(2);
  });
});
