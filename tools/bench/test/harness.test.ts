import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LINE, createContext, formatValue } from '../src/lib/harness.js';
import { percentile } from '../src/lib/stats.js';
import { measureRawTcp } from '../src/benches/tcp.js';

describe('bench harness', () => {
  it('prints figures and ratios in the `name: value unit` form', () => {
    const lines: string[] = [];
    const ctx = createContext(true, (l) => lines.push(l));
    ctx.figure('tcp.bulk', 2204.123, 'MB/s');
    ctx.figure('tcp.rtt.p50', 14.0567, 'us');
    expect(ctx.ratio('tcp.bulk.detr/anchor', 900, 600)).toBeCloseTo(1.5);
    ctx.note('a note');
    expect(lines).toEqual([
      'tcp.bulk: 2204 MB/s',
      'tcp.rtt.p50: 14.06 us',
      'ratio.tcp.bulk.detr/anchor: 1.500 x',
      '# a note',
    ]);
    for (const l of lines) expect(l).toMatch(LINE);
  });

  it('formats without exponents', () => {
    expect(formatValue(0.000123)).toBe('0.000');
    expect(formatValue(123456789)).toBe('123456789');
  });

  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('raw TCP benchmark (quick)', () => {
  it('measures positive throughput and round trips', async () => {
    const r = await measureRawTcp(true);
    expect(r.bulk).toBeGreaterThan(10);
    expect(r.p50).toBeGreaterThan(0);
    expect(r.p99).toBeGreaterThanOrEqual(r.p50);
  });

  it('runs through `npm run bench -- --quick tcp` and prints only well-formed lines', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const out = spawnSync(
      process.execPath,
      ['--conditions=@detr/source', '--import', 'tsx', main, '--quick', 'tcp'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    for (const l of lines) expect(l).toMatch(LINE);
    expect(lines.some((l) => l.startsWith('tcp.bulk: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('tcp.rtt.p50: '))).toBe(true);
  });
});
