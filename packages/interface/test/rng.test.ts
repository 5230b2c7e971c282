import { describe, expect, it } from '@jest/globals';
import { createSeededRng, cryptoRng } from '../src/index.js';

describe('createSeededRng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = createSeededRng(7);
    const b = createSeededRng(7);
    const c = createSeededRng(8);
    const seqA = Array.from({ length: 8 }, () => a.int(1_000_000));
    expect(Array.from({ length: 8 }, () => b.int(1_000_000))).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.int(1_000_000))).not.toEqual(seqA);
  });

  it('stays in range and is roughly uniform', () => {
    const rng = createSeededRng(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const v = rng.random();
      expect(v >= 0 && v < 1).toBe(true);
      buckets[Math.floor(v * 10)]!++;
    }
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('fills byte arrays of any length', () => {
    expect(createSeededRng(3).bytes(7)).toHaveLength(7);
    expect(createSeededRng(3).bytes(7)).toEqual(createSeededRng(3).bytes(7));
  });

  it('rejects a non-finite seed', () => {
    expect(() => createSeededRng(Number.NaN)).toThrow(TypeError);
  });
});

describe('cryptoRng', () => {
  it('returns values in range', () => {
    for (let i = 0; i < 1000; i++) {
      expect(cryptoRng.int(3)).toBeLessThan(3);
      const r = cryptoRng.random();
      expect(r >= 0 && r < 1).toBe(true);
    }
    expect(cryptoRng.bytes(32)).toHaveLength(32);
  });
});
