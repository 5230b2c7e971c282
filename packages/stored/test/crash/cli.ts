// The long crash test: `npm run crash -w @detr/stored -- [--kills N] [--seed S] [--keep]`.
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashTest } from './driver.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '500' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    keep: { type: 'boolean', default: false },
  },
});
const kills = Number(values.kills);
const seed = Number(values.seed);
const dir = mkdtempSync(join(tmpdir(), 'detr-crash-'));
console.log(`crash test: ${kills} kills, seed ${seed}, dir ${dir}`);
const started = Date.now();
const report = await runCrashTest({
  dir: join(dir, 'store'),
  kills,
  seed,
  onRound: (r) => {
    if ((r.round + 1) % 25 === 0 || r.problems.length > 0) {
      console.log(
        `round ${r.round + 1}: head ${r.head}, ${r.records} records, acked this round ${r.acked}`,
      );
    }
  },
});
console.log(
  `${report.kills} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
    `${report.totalAcked} acknowledged batches; ${report.midWrite} kills landed mid-write; ` +
    `${report.problems.length} problems`,
);
for (const p of report.problems) console.log(`PROBLEM ${p}`);
if (!values.keep) rmSync(dir, { recursive: true, force: true });
process.exit(report.problems.length === 0 ? 0 : 1);
