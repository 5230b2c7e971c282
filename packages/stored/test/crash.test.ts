import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { runCrashTest } from './crash/driver.js';
import { tempDir } from './support/tmp.js';

// 50 SIGKILLs of a child process writing acknowledged batches; the longer run is
// `npm run crash -w @detr/stored -- --kills 500`.
describe('crash safety (lmdb)', () => {
  it('keeps every acknowledged batch and nothing partial across 50 SIGKILLs', async () => {
    const dir = tempDir('detr-crash-');
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
    try {
      const report = await runCrashTest({ dir: join(dir.path, 'store'), kills: 50, seed });
      if (report.problems.length > 0) console.error(`crash test seed ${seed}`, report.problems);
      expect(report.problems).toEqual([]);
      expect(report.kills).toBe(50);
      // The kills must actually land while batches are being written: every kill timed from the
      // first ack did, and they are most of them.
      const afterFirstAck = report.rounds.filter((r) => r.killFrom === 'first-ack').length;
      expect(afterFirstAck).toBeGreaterThanOrEqual(25);
      expect(report.midWrite).toBeGreaterThanOrEqual(afterFirstAck);
      expect(report.totalAcked).toBeGreaterThanOrEqual(afterFirstAck);
      expect(report.rounds.at(-1)?.head).toBeGreaterThanOrEqual(report.totalAcked - 1);
    } finally {
      dir.remove();
    }
  }, 180_000);
});
