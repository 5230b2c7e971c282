// The simulation of docs/dht-simulation.md at 200 nodes (the 10,000-node run is `npm run dht:sim`):
// the real DHT code over the simulated network, checked against the targets.
import { describe, expect, it } from '@jest/globals';
import { runScenario, formatReport } from '../../src/sim/scenario.js';

describe('simulation (200 nodes)', () => {
  it('meets the lookup and record targets, with 25% killed and after churn', async () => {
    const r = await runScenario({
      nodes: 200,
      seed: 3,
      lookups: 250,
      records: 50,
      churnRounds: 3,
      churnFraction: 0.05,
      churnRoundMs: 120_000,
      settleMs: 300_000,
      dht: { refreshIntervalMs: 3_600_000, defaultTtlSec: 600, replicationIntervalMs: 300_000 },
    });
    expect(r.lookups.successRate).toBeGreaterThanOrEqual(0.999);
    expect(r.lookups.hopsP50).toBeLessThanOrEqual(4);
    expect(r.gets.successRate).toBe(1);
    expect(r.afterKill.lookups.successRate).toBeGreaterThanOrEqual(0.99);
    expect(r.afterKill.gets.successRate).toBeGreaterThanOrEqual(0.99);
    // Records outlived their 10-minute TTL only because their publishers republished them.
    expect(r.totals.virtualSeconds).toBeGreaterThan(600);
    expect(r.afterChurn.livePublisherRecords.successRate).toBeGreaterThanOrEqual(0.99);
    expect(r.afterChurn.lookups.successRate).toBeGreaterThanOrEqual(0.99);
    const md = formatReport(r, 'test');
    expect(md).toContain('| node lookups ≥ 99.9% success |');
  }, 170_000);
});
