import { describe, expect, it } from '@jest/globals';
import { createSeededRng } from '@detr/interface';
import {
  commonPrefixLength,
  compareDistance,
  distance48,
  kadIdOfPeer,
  kadIdOfRecordKey,
  randomIdAtPrefix,
  xor,
} from '../src/keys.js';
import { NETWORK_A, NETWORK_B, identity } from './support/fixtures.js';

const rng = createSeededRng(1);

describe('key space', () => {
  it('orders by XOR distance, byte by byte', () => {
    const target = new Uint8Array(32);
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    a[31] = 1;
    b[0] = 1;
    expect(compareDistance(a, b, target)).toBeLessThan(0);
    expect(compareDistance(b, a, target)).toBeGreaterThan(0);
    expect(compareDistance(a, a, target)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const t = rng.bytes(32);
      const x = rng.bytes(32);
      const y = rng.bytes(32);
      const dx = Buffer.from(xor(x, t));
      const dy = Buffer.from(xor(y, t));
      expect(Math.sign(compareDistance(x, y, t))).toBe(Math.sign(Buffer.compare(dx, dy)));
      // distance48 agrees whenever the top 48 bits differ
      if (!dx.subarray(0, 6).equals(dy.subarray(0, 6))) {
        expect(Math.sign(distance48(x, t) - distance48(y, t))).toBe(
          Math.sign(Buffer.compare(dx, dy)),
        );
      }
    }
  });

  it('counts common prefix bits', () => {
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    expect(commonPrefixLength(a, b)).toBe(256);
    b[0] = 0x80;
    expect(commonPrefixLength(a, b)).toBe(0);
    b[0] = 0;
    b[2] = 0x10;
    expect(commonPrefixLength(a, b)).toBe(19);
  });

  it('draws random ids at an exact prefix length', () => {
    const self = rng.bytes(32);
    for (const cpl of [0, 1, 7, 8, 9, 15, 63, 200, 255]) {
      for (let i = 0; i < 20; i++)
        expect(commonPrefixLength(self, randomIdAtPrefix(self, cpl, rng))).toBe(cpl);
    }
    expect(() => randomIdAtPrefix(self, 256, rng)).toThrow(RangeError);
  });

  it('maps peers and record keys to 32-byte ids, per network', () => {
    const p = identity().peerId;
    expect(kadIdOfPeer(p)).toHaveLength(32);
    expect(kadIdOfPeer(p)).toBe(kadIdOfPeer(p)); // cached per PeerId
    const key = new TextEncoder().encode('/m/x');
    expect(Buffer.from(kadIdOfRecordKey(NETWORK_A, key))).not.toEqual(
      Buffer.from(kadIdOfRecordKey(NETWORK_B, key)),
    );
  });
});
