// A small run of the DHT benchmark's detr and hyperdht parts (the kad-dht part takes tens of
// seconds even for a few nodes; `npm run bench -- dht --quick` runs all three).
import { describe, expect, it } from '@jest/globals';
import { measureDetr, measureHyperdht } from '../src/benches/dht.js';

describe('DHT benchmark (small)', () => {
  it('measures boot, put, get and findPeer on a detr testnet', async () => {
    const f = await measureDetr({ nodes: 5, ops: 3 });
    for (const v of [f.bootMs, f.putP50, f.getP50, f.findPeerP50]) expect(v).toBeGreaterThan(0);
    expect(f.misses).toBe(0);
  }, 60_000);

  it('measures the same on a hyperdht testnet', async () => {
    const f = await measureHyperdht({ nodes: 5, ops: 3 });
    for (const v of [f.bootMs, f.putP50, f.getP50, f.findPeerP50]) expect(v).toBeGreaterThan(0);
  }, 60_000);
});
