import { Simulation, percentile, mean } from '../src/sim/harness.js';
const n = Number(process.argv[2] ?? 1000);
const refresh = process.argv[3] !== 'norefresh';
const paths = Number(process.argv[4] ?? 2);
const t0 = performance.now();
const sim = new Simulation({ seed: 1, dht: { refreshOnJoin: refresh, disjointPaths: paths } });
await sim.grow(n, 100);
const t1 = performance.now();
const sizes = sim.nodes.map((x) => x.dht.stats().peers);
console.log(
  `grow ${n} refresh=${refresh} paths=${paths}: ${((t1 - t0) / 1000).toFixed(1)} s, table mean ${mean(sizes).toFixed(1)} min ${Math.min(...sizes)}, msgs/node ${(sim.net.stats.requests / n).toFixed(0)}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
);
const f = await sim.nodeLookups(1000);
console.log(
  `lookups ok ${f.ok}/${f.count} hops p50 ${percentile(f.hops, 50)} p95 ${percentile(f.hops, 95)} msgs mean ${mean(f.messages).toFixed(1)}`,
);
await sim.kill(0.25);
const f2 = await sim.nodeLookups(1000);
console.log(
  `after kill: lookups ok ${f2.ok}/${f2.count} hops p50 ${percentile(f2.hops, 50)} p95 ${percentile(f2.hops, 95)} msgs mean ${mean(f2.messages).toFixed(1)}`,
);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
