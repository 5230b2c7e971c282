// `npm run dht:sim`: the 10,000-node simulation; writes docs/dht-simulation.md.
// Options: --nodes N --seed S --out PATH (default: docs/dht-simulation.md at the repository root)
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, runScenario } from '../src/sim/scenario.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : (args[i + 1] ?? dflt);
};
const nodes = Number(opt('nodes', '10000'));
const seed = Number(opt('seed', '1'));
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = opt('out', join(root, 'docs/dht-simulation.md'));

const report = await runScenario({
  nodes,
  seed,
  lookups: Math.min(10_000, nodes),
  records: Math.max(100, Math.round(nodes / 10)),
  lossyRate: 0.01,
  churnRounds: 10,
  churnFraction: 0.02,
  churnRoundMs: 3 * 60_000,
  settleMs: 5 * 60_000,
  // Records live 20 min: after the 35 min of churn and settling, every record found has been
  // republished (by its publisher) or re-replicated (by its holders, every 10 min) at least once.
  // In-memory nodes: routing-table snapshots (tested on their own) are not written.
  dht: {
    refreshIntervalMs: 3_600_000,
    defaultTtlSec: 1200,
    replicationIntervalMs: 600_000,
    persistRoutingTable: false,
  },
  log: (l) => console.log(l),
});
const command =
  nodes === 10_000 && seed === 1
    ? 'npm run dht:sim'
    : `npm run dht:sim -- --nodes ${nodes} --seed ${seed}`;
const md = formatReport(report, command);
writeFileSync(out, md);
console.log(md);
console.log(`written to ${out}`);
