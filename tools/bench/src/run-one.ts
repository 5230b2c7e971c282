// Runs the benchmarks of one module: `run-one.ts <module path> [--quick]`.
import './lib/shims.js';
import { pathToFileURL } from 'node:url';
import { createContext, type Benchmark } from './lib/harness.js';

const [file, ...flags] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: run-one.ts <module> [--quick]');
  process.exit(2);
}
const mod = (await import(pathToFileURL(file).href)) as { default: Benchmark | Benchmark[] };
const benches = Array.isArray(mod.default) ? mod.default : [mod.default];
const ctx = createContext(flags.includes('--quick'));
for (const bench of benches) {
  await bench.run(ctx);
}
process.exit(0);
