import { writeHeapSnapshot } from 'node:v8';
import { Simulation } from '../src/sim/harness.js';
const n = Number(process.argv[2] ?? 1000);
const sim = new Simulation({ seed: 2, dht: {} });
await sim.grow(n, 100);
await sim.clock.run(10_000);
globalThis.gc?.();
const m = process.memoryUsage();
console.log(
  'nodes',
  n,
  'heapUsed MiB',
  (m.heapUsed / 2 ** 20).toFixed(0),
  'rss',
  (m.rss / 2 ** 20).toFixed(0),
  'timers',
  sim.clock.pending(),
  'tables',
  sim.nodes.reduce((a, x) => a + x.dht.stats().peers, 0) / n,
);
if (process.argv[3] === 'snap') console.log(writeHeapSnapshot('/tmp/dht.heapsnapshot'));
