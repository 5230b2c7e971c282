import { describe, expect, it } from '@jest/globals';
import { nobleCryptoProvider, nodeCryptoProvider, sodiumCryptoProvider } from '@detr/aecomms';
import {
  aecommsChannel,
  aecommsHandshakes,
  aecommsSealOpen,
  libp2pNoiseChannel,
  libp2pNoiseHandshakes,
  secretStreamChannel,
  secretStreamHandshakes,
} from '../src/benches/aecomms.js';

const positive = (v: number): void => {
  expect(Number.isFinite(v)).toBe(true);
  expect(v).toBeGreaterThan(0);
};

describe('aecomms benchmark (quick)', () => {
  it('runs handshakes on aecomms (every provider), libp2p-noise and secret-stream', async () => {
    positive(await aecommsHandshakes(nodeCryptoProvider, 5));
    positive(await aecommsHandshakes(sodiumCryptoProvider()!, 5));
    positive(await aecommsHandshakes(nobleCryptoProvider, 2));
    positive(await libp2pNoiseHandshakes(3));
    positive(await secretStreamHandshakes(3));
  });

  it('measures seal+open and channel throughput for each', async () => {
    positive(aecommsSealOpen(nodeCryptoProvider, 65_519, 1 << 20));
    positive(aecommsSealOpen(sodiumCryptoProvider()!, 65_519, 1 << 20));
    positive(await aecommsChannel(sodiumCryptoProvider()!, 1024, 1 << 20));
    positive(aecommsSealOpen(nobleCryptoProvider, 1024, 1 << 16));
    positive(await aecommsChannel(nodeCryptoProvider, 1024, 1 << 20));
    positive(await libp2pNoiseChannel(1024, 1 << 20));
    positive(await secretStreamChannel(1024, 1 << 20));
  });
});
