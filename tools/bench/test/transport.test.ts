import { describe, expect, it } from '@jest/globals';
import transport, { rssDetr } from '../src/benches/transport.js';
import transportQuic, { rssDetrQuic } from '../src/benches/transport-quic.js';

describe('transport benchmarks', () => {
  it('are benchmark modules', () => {
    expect(transport.name).toBe('transport');
    expect(transportQuic.name).toBe('transport-quic');
    expect(typeof transport.run).toBe('function');
    expect(typeof transportQuic.run).toBe('function');
  });

  it('measure detr connections over TCP and QUIC (a few, for the shape only)', async () => {
    expect(Number.isFinite(await rssDetr(10))).toBe(true);
    expect(Number.isFinite(await rssDetrQuic(5))).toBe(true);
  }, 60_000);
});
