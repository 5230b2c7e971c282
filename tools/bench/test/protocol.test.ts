import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LINE } from '../src/lib/harness.js';
import { measure, measureProtocol } from '../src/benches/protocol.js';

describe('protocol benchmark (quick)', () => {
  it('measures a positive rate for every figure', () => {
    const figures = measureProtocol(20);
    expect(Object.keys(figures)).toEqual(
      expect.arrayContaining([
        'data64k.encode_header',
        'data64k.decode',
        'msg100.mux.decode',
        'msg100.msgdata.decode',
      ]),
    );
    for (const r of Object.values(figures)) {
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.mbPerSec).toBeGreaterThan(0);
    }
  });

  it('counts batches and payload bytes', () => {
    let calls = 0;
    const r = measure(() => void calls++, 10, 100, 20);
    expect(calls).toBeGreaterThan(0);
    expect(r.mbPerSec).toBeCloseTo((r.opsPerSec * 100) / 1e6);
  });

  it('runs through `npm run bench -- --quick protocol` and prints only well-formed lines', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const out = spawnSync(
      process.execPath,
      ['--conditions=@detr/source', '--import', 'tsx', main, '--quick', 'protocol'],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    for (const l of lines) expect(l).toMatch(LINE);
    for (const name of [
      'data64k.encode_header',
      'data64k.decode',
      'msg100.mux.decode',
      'msg100.msgdata.encode',
    ]) {
      expect(lines.some((l) => l.startsWith(`protocol.${name}.msgs: `))).toBe(true);
      expect(lines.some((l) => l.startsWith(`protocol.${name}.throughput: `))).toBe(true);
    }
  });
});
