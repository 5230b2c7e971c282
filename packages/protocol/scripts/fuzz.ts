// `npx nx run @detr/protocol:fuzz [-- --executions N --seed S --max-ms T --filter name --json]`
// Runs the mutation fuzzer over every decoder (see fuzz-engine.ts), prints executions, failures,
// duration and the outcome histogram, and exits 1 on any failure or when cut short by --max-ms
// before reaching --executions.
import { runFuzz } from './fuzz-engine.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const executions = Number(arg('executions') ?? 1_000_000);
const seed = Number(arg('seed') ?? Date.now() % 1_000_000);
const maxMs = Number(arg('max-ms') ?? 20 * 60 * 1000);
const filter = arg('filter');
const json = process.argv.includes('--json');

if (!Number.isInteger(executions) || executions < 1)
  throw new RangeError('--executions must be a positive integer');

if (!json)
  process.stdout.write(`fuzzing: ${executions} executions, seed ${seed}, limit ${maxMs} ms\n`);
const report = runFuzz({
  executions,
  seed,
  maxMs,
  filter,
  progressEvery: 100_000,
  onProgress: (done) => {
    if (!json) process.stdout.write(`  ${done} executions\n`);
  },
});

function heapLine(samples: readonly number[]): string {
  if (samples.length === 0) return 'n/a (run node with --expose-gc)';
  const f = (m: number): string => m.toFixed(1);
  return `first ${f(samples[0]!)} MiB, last ${f(samples[samples.length - 1]!)} MiB, max ${f(Math.max(...samples))} MiB (${samples.length} samples, one per 100k executions)`;
}

if (json) {
  process.stdout.write(`${JSON.stringify({ seed, ...report }, null, 2)}\n`);
} else {
  const lines = [
    `targets: ${report.targets}`,
    `executions: ${report.executions}`,
    `failures: ${report.failures}`,
    `duration: ${(report.durationMs / 1000).toFixed(1)} s (${Math.round(report.executions / (report.durationMs / 1000))} exec/s)`,
    `slowest execution: ${report.slowestUs.toFixed(0)} us (${report.slowest?.target ?? '-'}, ${(report.slowest?.input.length ?? 0) / 2} bytes)`,
    `max heap (sampled, garbage included): ${report.maxHeapMiB.toFixed(1)} MiB`,
    `live heap after GC: ${heapLine(report.heapAfterGcMiB)}`,
    `outcomes: ${Object.entries(report.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    `executions per target: ${Math.min(...Object.values(report.perTarget))}..${Math.max(...Object.values(report.perTarget))}`,
    `seed: ${seed}`,
  ];
  if (report.cutShort) lines.push(`CUT SHORT by --max-ms after ${report.executions} executions`);
  for (const e of report.examples)
    lines.push(`FAILURE ${e.target}: ${e.error}\n  input: ${e.input}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exit(report.failures > 0 || report.cutShort ? 1 : 0);
