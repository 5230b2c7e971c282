import { describe, expect, it } from '@jest/globals';
import { createContext } from '../src/lib/harness.js';
import nat from '../src/benches/nat.js';

describe('nat benchmark', () => {
  it('measures detr WebRTC beside raw node-datachannel (quick mode, for the shape only)', async () => {
    const lines: string[] = [];
    await nat.run(createContext(true, (l) => lines.push(l)));
    const figure = (name: string): number => {
      const line = lines.find((l) => l.startsWith(`${name}: `));
      return Number(line?.split(' ')[1]);
    };
    for (const name of [
      'nat.raw.bulk',
      'nat.detr.bulk',
      'nat.raw.rtt.p50',
      'nat.detr.rtt.p50',
      'nat.detr.mux.open-rtt.p50',
      'nat.detr.mux.8-streams',
      'ratio.nat.bulk.detr/raw',
      'ratio.nat.rtt.p50.detr/raw',
    ]) {
      expect(figure(name)).toBeGreaterThan(0);
    }
  }, 120_000);
});
