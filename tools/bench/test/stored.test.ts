import { describe, expect, it } from '@jest/globals';
import { measureRawLmdb, measureStore } from '../src/benches/stored.js';

describe('stored benchmark (quick)', () => {
  it.each(['lmdb', 'memory'] as const)(
    'measures %s put/get/scan with the cache hit and missed',
    async (kind) => {
      const f = await measureStore(kind, { n: 2000, batchSize: 500, concurrency: 50 });
      for (const v of [f.putBatched, f.putConcurrent, f.getHit, f.getMiss, f.scan]) {
        expect(v).toBeGreaterThan(0);
        expect(Number.isFinite(v)).toBe(true);
      }
      expect(f.hitRate).toBe(1);
    },
  );

  it('measures raw lmdb-js', async () => {
    const r = await measureRawLmdb(2000);
    expect(r.put).toBeGreaterThan(0);
    expect(r.get).toBeGreaterThan(0);
  });
});
