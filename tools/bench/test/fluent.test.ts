import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LINE } from '../src/lib/harness.js';
import {
  fluentContended,
  inboundAccept,
  plainPQueue,
  probeLatency,
  sequentialSend,
} from '../src/benches/fluent.js';

describe('fluent scheduler benchmark (quick)', () => {
  it('measures per-message costs and probe latencies', async () => {
    expect(await fluentContended('bulk', 50)).toBeGreaterThan(0);
    expect(await plainPQueue('bulk', 50)).toBeGreaterThan(0);
    expect(await sequentialSend(200)).toBeGreaterThan(0);
    const inbound = inboundAccept(10, 1000);
    expect(inbound.acceptNs).toBeGreaterThan(0);
    expect(inbound.dropNs).toBeGreaterThan(0);
    const waits = await probeLatency('critical', 100, 20, 2);
    expect(waits).toHaveLength(20);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(0);
  });

  it('runs through `npm run bench -- --quick fluent` and prints only well-formed lines', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const out = spawnSync(
      process.execPath,
      ['--conditions=@detr/source', '--import', 'tsx', main, '--quick', 'fluent'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    for (const l of lines) expect(l).toMatch(LINE);
    for (const p of ['critical', 'high', 'normal', 'low', 'bulk']) {
      expect(lines.some((l) => l.startsWith(`fluent.overhead.${p}: `))).toBe(true);
      expect(lines.some((l) => l.startsWith(`fluent.probe.${p}.wait.p99: `))).toBe(true);
    }
  }, 150_000);
});
