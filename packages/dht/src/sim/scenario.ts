// The simulation scenario of docs/dht-simulation.md: join N nodes, measure node lookups and
// record gets, kill 25% without warning and measure again, then churn (leave + join) for a
// while, let publishers republish, and measure record survival. The same code runs at 10,000
// nodes (`npm run dht:sim`) and at a few hundred in the jest suite.
import type { DhtInit } from '../config.js';
import { mean, percentile, Simulation, type LookupFigures, type SimNode } from './harness.js';

export interface ScenarioOptions {
  nodes: number;
  seed: number;
  /** Node lookups per measurement. */
  lookups: number;
  /** Records published. */
  records: number;
  /** Fraction killed without warning. @default 0.25 */
  killFraction?: number;
  /** Churn rounds, each `churnRoundMs` apart, each replacing `churnFraction` of the nodes. */
  churnRounds: number;
  churnFraction: number;
  churnRoundMs: number;
  /** Extra virtual time after the churn, so that publishers republish. */
  settleMs: number;
  /** Loss rate of every link. @default 0 */
  lossRate?: number;
  /** Also measure node lookups and gets with this loss rate on every link (0: skip). @default 0 */
  lossyRate?: number;
  /** Nodes joining at once. @default 100 */
  joinConcurrency?: number;
  dht?: Partial<DhtInit>;
  log?: (line: string) => void;
}

export interface PhaseFigures {
  count: number;
  successRate: number;
  hopsP50: number;
  hopsP95: number;
  messagesMean: number;
  messagesP95: number;
}

export interface ScenarioReport {
  options: Omit<ScenarioOptions, 'log'>;
  join: { wallSeconds: number; messagesPerJoin: number; tableMean: number; tableMin: number };
  lookups: PhaseFigures;
  gets: PhaseFigures;
  putReplicasMean: number;
  /** Lookups and gets with `lossyRate` on every link (absent when skipped). */
  lossy?: { lookups: PhaseFigures; gets: PhaseFigures };
  afterKill: { lookups: PhaseFigures; gets: PhaseFigures; killed: number };
  afterChurn: {
    joined: number;
    left: number;
    /** Records whose publisher is still alive. */
    livePublisherRecords: PhaseFigures;
    /** Every record, including those whose publisher left. */
    allRecords: PhaseFigures;
    lookups: PhaseFigures;
  };
  totals: {
    wallSeconds: number;
    virtualSeconds: number;
    requests: number;
    peakRssMiB: number;
    peakHeapMiB: number;
  };
}

function figures(f: LookupFigures): PhaseFigures {
  return {
    count: f.count,
    successRate: f.count === 0 ? 1 : f.ok / f.count,
    hopsP50: percentile(f.hops, 50),
    hopsP95: percentile(f.hops, 95),
    messagesMean: mean(f.messages),
    messagesP95: percentile(f.messages, 95),
  };
}

/** Runs the scenario and returns its figures. */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sim = new Simulation({ seed: o.seed, lossRate: o.lossRate ?? 0, dht: o.dht ?? {} });
  const vt0 = sim.clock.now();

  log(`joining ${o.nodes} nodes`);
  let reported = 0;
  await sim.grow(o.nodes, o.joinConcurrency ?? 100, (n) => {
    sample();
    if (n - reported >= 1000 || n === o.nodes) {
      reported = n;
      const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
      log(`  ${n} joined (${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${rss} MiB)`);
    }
  });
  const joinWall = (performance.now() - t0) / 1000;
  const tables = sim.nodes.map((n) => n.dht.stats().peers);
  const join = {
    wallSeconds: joinWall,
    messagesPerJoin: sim.net.stats.requests / o.nodes,
    tableMean: mean(tables),
    tableMin: Math.min(...tables),
  };

  log('node lookups');
  const lookups = figures(await sim.nodeLookups(o.lookups));
  sample();
  log('records');
  const records = await sim.putRecords(o.records);
  const putReplicasMean = mean(records.map((r) => r.replicas));
  const gets = figures(await sim.getRecords(records));
  sample();

  let lossy: ScenarioReport['lossy'];
  if ((o.lossyRate ?? 0) > 0) {
    log(`lookups with ${((o.lossyRate ?? 0) * 100).toFixed(1)}% loss on every link`);
    sim.net.setLossRate(o.lossyRate ?? 0);
    lossy = {
      lookups: figures(await sim.nodeLookups(o.lookups)),
      gets: figures(await sim.getRecords(records)),
    };
    sim.net.setLossRate(o.lossRate ?? 0);
    sample();
  }

  const killFraction = o.killFraction ?? 0.25;
  log(`killing ${Math.round(killFraction * 100)}% without warning`);
  const killed = await sim.kill(killFraction);
  const killLookups = figures(await sim.nodeLookups(o.lookups));
  const killGets = figures(await sim.getRecords(records));
  sample();

  log('churn');
  let joined = 0;
  let left = 0;
  for (let round = 0; round < o.churnRounds; round++) {
    const live = sim.live();
    const n = Math.max(1, Math.round(live.length * o.churnFraction));
    const gone: SimNode[] = await sim.kill(n / live.length);
    left += gone.length;
    const fresh: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const from = sim.randomLive();
      const node = await sim.addNode([from.address]);
      fresh.push(node.dht.bootstrap());
      joined++;
    }
    await sim.clock.runUntil(Promise.all(fresh));
    await sim.clock.run(o.churnRoundMs);
    sample();
    log(`  round ${round + 1}: ${gone.length} left, ${n} joined, ${sim.live().length} live`);
  }
  await sim.clock.run(o.settleMs);
  const livePublisherRecords = figures(
    await sim.getRecords(records.filter((r) => r.publisher.alive)),
  );
  const allRecords = figures(await sim.getRecords(records));
  const churnLookups = figures(await sim.nodeLookups(o.lookups));
  sample();
  const report: ScenarioReport = {
    options: { ...o, log: undefined } as Omit<ScenarioOptions, 'log'>,
    join,
    lookups,
    gets,
    putReplicasMean,
    ...(lossy === undefined ? {} : { lossy }),
    afterKill: { lookups: killLookups, gets: killGets, killed: killed.length },
    afterChurn: { joined, left, livePublisherRecords, allRecords, lookups: churnLookups },
    totals: {
      wallSeconds: (performance.now() - t0) / 1000,
      virtualSeconds: (sim.clock.now() - vt0) / 1000,
      requests: sim.net.stats.requests,
      peakRssMiB: peakRss / 2 ** 20,
      peakHeapMiB: peakHeap / 2 ** 20,
    },
  };
  delete (report.options as { log?: unknown }).log;
  await sim.stopAll();
  return report;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const row = (name: string, f: PhaseFigures): string =>
  `| ${name} | ${f.count} | ${pct(f.successRate)} | ${f.hopsP50} | ${f.hopsP95} | ${f.messagesMean.toFixed(1)} | ${f.messagesP95} |`;

/** The report as Markdown (the body of docs/dht-simulation.md). */
export function formatReport(r: ScenarioReport, command: string): string {
  const o = r.options;
  const lines = [
    '# DHT simulation',
    '',
    `Generated by \`${command}\`: the real \`@detr/dht\` code (createDht, routing table, lookups,`,
    'records, replication; memory stores from `@detr/stored`) over the in-process simulated network',
    '(virtual clock, per-link latency from virtual coordinates, 5–105 ms one way, seeded randomness).',
    'Deterministic: the same seed gives the same figures. Wall-clock times are from a shared 2-core',
    'machine and only indicative.',
    '',
    '## Set-up',
    '',
    '| parameter | value |',
    '|---|---|',
    `| nodes | ${o.nodes} |`,
    `| seed | ${o.seed} |`,
    `| k / α / disjoint paths | ${o.dht?.k ?? 20} / ${o.dht?.alpha ?? 3} / ${o.dht?.disjointPaths ?? 2} |`,
    `| request timeout | ${o.dht?.requestTimeoutMs ?? 2000} ms |`,
    `| link loss | ${pct(o.lossRate ?? 0)} |`,
    `| node lookups per measurement | ${o.lookups} (random live node → random live node, ends when the target answers) |`,
    `| records | ${o.records} (64-byte values, TTL ${(o.dht?.defaultTtlSec ?? 3600) / 60} min, published by random nodes) |`,
    `| killed without warning | ${pct(o.killFraction ?? 0.25)} |`,
    `| churn | ${o.churnRounds} rounds, ${o.churnRoundMs / 60_000} min apart, each replacing ${pct(o.churnFraction)} of the live nodes (killed without warning + new nodes joining) |`,
    `| settle after churn | ${o.settleMs / 60_000} min |`,
    `| republication | publishers at half the TTL; holders every ${(o.dht?.replicationIntervalMs ?? 3_600_000) / 60_000} min unless a peer stored the record to them meanwhile; holders also push records to new peers among the k closest |`,
    `| bucket refresh interval | ${(o.dht?.refreshIntervalMs ?? 600_000) / 60_000} min |`,
    '',
    '## Results',
    '',
    `Joining: ${r.join.messagesPerJoin.toFixed(0)} requests per join; routing tables hold ${r.join.tableMean.toFixed(1)} peers on average (min ${r.join.tableMin}); replicas per put ${r.putReplicasMean.toFixed(1)}.`,
    '',
    '| measurement | count | success | hops p50 | hops p95 | messages / lookup (mean) | messages p95 |',
    '|---|---|---|---|---|---|---|',
    row('node lookups', r.lookups),
    row('record gets', r.gets),
    ...(r.lossy === undefined
      ? []
      : [
          row(`node lookups, ${pct(o.lossyRate ?? 0)} loss on every link`, r.lossy.lookups),
          row(`record gets, ${pct(o.lossyRate ?? 0)} loss on every link`, r.lossy.gets),
        ]),
    row(`node lookups, ${pct(o.killFraction ?? 0.25)} killed`, r.afterKill.lookups),
    row(
      `record gets, ${pct(o.killFraction ?? 0.25)} killed (records retrievable)`,
      r.afterKill.gets,
    ),
    row('node lookups after churn', r.afterChurn.lookups),
    row(
      'record gets after churn + republication (publisher alive)',
      r.afterChurn.livePublisherRecords,
    ),
    row('record gets after churn (all records, publisher gone or not)', r.afterChurn.allRecords),
    '',
    `Killed: ${r.afterKill.killed}. Churn: ${r.afterChurn.left} left, ${r.afterChurn.joined} joined.`,
    'Hops: the referral depth at which the lookup reached the target (or the peer that returned the',
    "record); peers from the requester's own table are hop 1. Messages: requests the lookup sent.",
    '',
    ...(r.lossy === undefined
      ? []
      : [
          'Loss: a lost request or answer is a timeout, and a peer that times out is dropped from the',
          'routing table (detr streams run over TCP or QUIC, where a timeout means a dead or stuck peer,',
          'so requests are not retried). A node lookup counts as a success only if the target itself',
          'answered: under loss its last request fails as often as any other. The loss measurement runs',
          'before the kill, on the tables the join built; the table damage it causes carries into the',
          'later measurements.',
          '',
        ]),
    'Record survival: by the last measurement every record has outlived its TTL at least once, so',
    'each one found was republished. Only a publisher can extend a record (it re-signs it with a new',
    'expiry); holders re-replicate it to the current k closest until it expires. The last row',
    'therefore also counts, as not found, records whose publisher was killed or left more than a TTL',
    'earlier: that is expiry working, not data loss.',
    '',
    '## Targets',
    '',
    '| target | result | met |',
    '|---|---|---|',
    `| node lookups ≥ 99.9% success | ${pct(r.lookups.successRate)} | ${r.lookups.successRate >= 0.999 ? 'yes' : 'no'} |`,
    `| median hops ≤ 4 | ${r.lookups.hopsP50} | ${r.lookups.hopsP50 <= 4 ? 'yes' : 'no'} |`,
    `| after 25% killed: ≥ 99% success | ${pct(r.afterKill.lookups.successRate)} | ${r.afterKill.lookups.successRate >= 0.99 ? 'yes' : 'no'} |`,
    `| after 25% killed: ≥ 99% of records retrievable | ${pct(r.afterKill.gets.successRate)} | ${r.afterKill.gets.successRate >= 0.99 ? 'yes' : 'no'} |`,
    '',
    '## Cost of the run',
    '',
    `${r.totals.requests.toLocaleString('en-US')} requests, ${r.totals.virtualSeconds.toFixed(0)} virtual seconds, ${r.totals.wallSeconds.toFixed(0)} s wall clock (join ${r.join.wallSeconds.toFixed(0)} s), peak RSS ${r.totals.peakRssMiB.toFixed(0)} MiB, peak heap ${r.totals.peakHeapMiB.toFixed(0)} MiB.`,
    '',
  ];
  return lines.join('\n');
}
