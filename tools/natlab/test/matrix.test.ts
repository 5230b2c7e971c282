import { describe, expect, it } from '@jest/globals';
import { allCells, directExpected, formatMatrix, percentile, summarize } from '../src/matrix.js';

describe('matrix', () => {
  it('lists 16 ordered cells', () => {
    expect(allCells()).toHaveLength(16);
    expect(allCells()[0]).toEqual(['open', 'open']);
  });

  it('expects a direct path unless both filter and one maps per destination', () => {
    expect(directExpected('port-restricted', 'port-restricted')).toBe(true);
    expect(directExpected('symmetric', 'open')).toBe(true);
    expect(directExpected('symmetric', 'full-cone')).toBe(true);
    expect(directExpected('symmetric', 'port-restricted')).toBe(false);
    expect(directExpected('port-restricted', 'symmetric')).toBe(false);
    expect(directExpected('symmetric', 'symmetric')).toBe(false);
  });

  it('summarizes and prints a cell', () => {
    const cell = {
      dialer: 'open' as const,
      listener: 'symmetric' as const,
      results: [
        { ok: true, path: 'direct' as const, ttfbMs: 300 },
        { ok: true, path: 'relayed' as const, ttfbMs: 900 },
        { ok: false, error: 'timeout | x' },
      ],
    };
    expect(summarize(cell)).toMatchObject({
      connected: 2,
      attempts: 3,
      direct: 1,
      relayed: 1,
      ttfbP50Ms: 300,
      ttfbMaxMs: 900,
    });
    const md = formatMatrix([cell], 'title');
    expect(md).toContain('| **open** |   | 2/3 mixed, 0.30 s |');
    expect(md).toContain('timeout / x');
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
  });
});
