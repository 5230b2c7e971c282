import { describe, expect, it } from '@jest/globals';
import { measureDpeers } from '../src/benches/dpeers.js';

describe('dpeers benchmark (quick)', () => {
  it('measures reputation updates, ban checks and gate checks', async () => {
    const f = await measureDpeers({ peers: 50, connections: 20, ops: 2000 });
    for (const v of Object.values(f)) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
    }
  });
});
