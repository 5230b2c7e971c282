import { describe, expect, it } from '@jest/globals';
import {
  createIdentity,
  defaultCryptoProvider,
  nodeCryptoProvider,
  sodiumCryptoProvider,
  sodiumLoadError,
} from '../../src/index.js';

describe('default crypto provider', () => {
  it('is libsodium where sodium-native has a prebuilt binary (linux-x64 here)', () => {
    expect(sodiumLoadError()).toBeUndefined();
    expect(sodiumCryptoProvider()).toBe(defaultCryptoProvider);
    expect(defaultCryptoProvider.name).toBe('sodium');
  });

  it('gives the same identity as node:crypto for a seed', () => {
    const seed = new Uint8Array(32).fill(7);
    const a = createIdentity(seed);
    const b = createIdentity(seed, { provider: nodeCryptoProvider });
    expect(a.peerId.toString()).toBe(b.peerId.toString());
    expect(Buffer.from(a.sign(new Uint8Array([1, 2, 3])))).toEqual(
      Buffer.from(b.sign(new Uint8Array([1, 2, 3]))),
    );
  });
});
