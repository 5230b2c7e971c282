import { describe, expect, it } from '@jest/globals';
import { createIdentity, envelopeSigningBytes } from '@detr/aecomms';
import { createEd25519Verifier } from '../src/identity.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// RFC 8032 section 7.1, TEST 1 and TEST 2.
const TEST1 = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  message: '',
  signature:
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};
const TEST2 = {
  publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  message: '72',
  signature:
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
};

describe('createEd25519Verifier', () => {
  it('accepts the RFC 8032 test vectors and rejects tampering', () => {
    const v = createEd25519Verifier();
    for (const t of [TEST1, TEST2]) {
      expect(v.verify(hex(t.publicKey), hex(t.message), hex(t.signature))).toBe(true);
      const bad = hex(t.signature);
      bad[5] = (bad[5] as number) ^ 1;
      expect(v.verify(hex(t.publicKey), hex(t.message), bad)).toBe(false);
      expect(v.verify(hex(t.publicKey), hex('01'), hex(t.signature))).toBe(false);
    }
  });

  it('agrees with an aecomms identity of the same seed', () => {
    const id = createIdentity(hex(TEST1.seed));
    expect(Buffer.from(id.publicKey).toString('hex')).toBe(TEST1.publicKey);
    const data = envelopeSigningBytes(50, new Uint8Array([1, 2, 3]));
    expect(createEd25519Verifier({ cacheSize: 0 }).verify(id.publicKey, data, id.sign(data))).toBe(
      true,
    );
  });

  it('never throws on malformed keys or signatures', () => {
    const v = createEd25519Verifier({ cacheSize: 2 });
    expect(v.verify(new Uint8Array(31), new Uint8Array(), new Uint8Array(64))).toBe(false);
    expect(v.verify(new Uint8Array(32).fill(0xff), new Uint8Array(), new Uint8Array(64))).toBe(
      false,
    );
    expect(v.verify(hex(TEST1.publicKey), new Uint8Array(), new Uint8Array(63))).toBe(false);
    expect(() => createEd25519Verifier({ cacheSize: -1 })).toThrow(RangeError);
  });
});
