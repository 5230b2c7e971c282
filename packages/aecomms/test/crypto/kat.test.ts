// Known-answer tests, run identically on both providers: RFC 7748 (X25519), RFC 8032 (Ed25519),
// RFC 8439 (ChaCha20-Poly1305), RFC 7914 (scrypt).
import { describe, expect, it } from '@jest/globals';
import {
  RFC7748_DH,
  RFC7748_ITERATED,
  RFC7748_X25519,
  RFC7914_SCRYPT,
  RFC8032_ED25519,
  RFC8439_AEAD,
} from '../fixtures/rfc-vectors.js';
import { PROVIDERS, hex, toHex, utf8 } from '../helpers.js';

describe.each(PROVIDERS)('%s provider', (_name, provider) => {
  describe('RFC 7748 X25519', () => {
    it.each(RFC7748_X25519)('section 5.2 vector $#', (v) => {
      expect(toHex(provider.x25519(hex(v.scalar), hex(v.u)))).toBe(v.output);
    });

    it('section 5.2 iterated: 1 and 1,000 iterations', () => {
      let k: Uint8Array = new Uint8Array(32);
      k[0] = 9;
      let u: Uint8Array = Uint8Array.from(k);
      for (let i = 1; i <= 1000; i++) {
        const next = provider.x25519(k, u);
        u = k;
        k = next;
        if (i === 1) expect(toHex(k)).toBe(RFC7748_ITERATED.after1);
      }
      expect(toHex(k)).toBe(RFC7748_ITERATED.after1000);
    });

    it('section 6.1 Diffie-Hellman', () => {
      const alice = provider.x25519FromPrivateKey(hex(RFC7748_DH.alicePrivate));
      const bob = provider.x25519FromPrivateKey(hex(RFC7748_DH.bobPrivate));
      expect(toHex(alice.publicKey)).toBe(RFC7748_DH.alicePublic);
      expect(toHex(bob.publicKey)).toBe(RFC7748_DH.bobPublic);
      expect(toHex(alice.dh(bob.publicKey))).toBe(RFC7748_DH.shared);
      expect(toHex(bob.dh(alice.publicKey))).toBe(RFC7748_DH.shared);
    });

    it('rejects low-order points (all-zero result) with a RangeError', () => {
      const key = provider.generateX25519();
      expect(() => key.dh(new Uint8Array(32))).toThrow(RangeError);
      const one = new Uint8Array(32);
      one[0] = 1;
      expect(() => key.dh(one)).toThrow(RangeError);
      expect(() => key.dh(new Uint8Array(31))).toThrow(RangeError);
    });

    it('rejects keys of the wrong size', () => {
      expect(() => provider.x25519FromPrivateKey(new Uint8Array(31))).toThrow(RangeError);
    });
  });

  describe('RFC 8032 Ed25519', () => {
    it.each(RFC8032_ED25519)('section 7.1 $name', (v) => {
      const key = provider.ed25519FromSeed(hex(v.secretKey));
      expect(toHex(key.publicKey)).toBe(v.publicKey);
      expect(toHex(key.sign(hex(v.message)))).toBe(v.signature);
      expect(toHex(key.exportSeed())).toBe(v.secretKey);
      expect(provider.ed25519Verify(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true);
      const pub = provider.ed25519PublicKey(hex(v.publicKey));
      expect(pub.verify(hex(v.message), hex(v.signature))).toBe(true);
    });

    it('rejects altered messages, signatures and keys, and malformed input, without throwing', () => {
      const v = RFC8032_ED25519[1]!;
      const sig = hex(v.signature);
      const bad = Uint8Array.from(sig);
      bad[5]! ^= 1;
      expect(provider.ed25519Verify(hex(v.publicKey), hex(v.message), bad)).toBe(false);
      expect(provider.ed25519Verify(hex(v.publicKey), hex('73'), sig)).toBe(false);
      expect(provider.ed25519Verify(hex(RFC8032_ED25519[0]!.publicKey), hex(v.message), sig)).toBe(
        false,
      );
      expect(provider.ed25519Verify(hex(v.publicKey), hex(v.message), sig.subarray(0, 63))).toBe(
        false,
      );
      expect(provider.ed25519Verify(new Uint8Array(31), hex(v.message), sig)).toBe(false);
      // S ≥ L (non-canonical scalar): RFC 8032 says reject.
      const highS = Uint8Array.from(sig);
      highS[63] = 0xff;
      expect(provider.ed25519Verify(hex(v.publicKey), hex(v.message), highS)).toBe(false);
      // A public key that is not a point.
      const notPoint = hex('02' + '00'.repeat(30) + '80');
      expect(provider.ed25519Verify(notPoint, hex(v.message), sig)).toBe(false);
    });
  });

  describe('RFC 8439 ChaCha20-Poly1305', () => {
    it.each(RFC8439_AEAD)('$name: seal', (v) => {
      const aead = provider.chacha20Poly1305(hex(v.key));
      expect(toHex(aead.seal(hex(v.nonce), hex(v.aad), [hex(v.plaintext)]))).toBe(
        v.ciphertext + v.tag,
      );
    });

    it.each(RFC8439_AEAD)('$name: seal from many parts', (v) => {
      const aead = provider.chacha20Poly1305(hex(v.key));
      const pt = hex(v.plaintext);
      const parts = [pt.subarray(0, 1), pt.subarray(1, 1), pt.subarray(1, 64), pt.subarray(64)];
      expect(toHex(aead.seal(hex(v.nonce), hex(v.aad), parts))).toBe(v.ciphertext + v.tag);
    });

    it.each(RFC8439_AEAD)('$name: open, whole and in pieces', (v) => {
      const aead = provider.chacha20Poly1305(hex(v.key));
      const ct = hex(v.ciphertext);
      expect(toHex(aead.open(hex(v.nonce), hex(v.aad), [ct], hex(v.tag))!)).toBe(v.plaintext);
      const pieces = [ct.subarray(0, 7), ct.subarray(7, 100), ct.subarray(100)];
      expect(toHex(aead.open(hex(v.nonce), hex(v.aad), pieces, hex(v.tag))!)).toBe(v.plaintext);
    });

    it.each(RFC8439_AEAD)('$name: any altered byte fails with null', (v) => {
      const aead = provider.chacha20Poly1305(hex(v.key));
      const ct = hex(v.ciphertext);
      const tag = hex(v.tag);
      const flipped = Uint8Array.from(ct);
      flipped[3]! ^= 0x80;
      expect(aead.open(hex(v.nonce), hex(v.aad), [flipped], tag)).toBeNull();
      const badTag = Uint8Array.from(tag);
      badTag[15]! ^= 1;
      expect(aead.open(hex(v.nonce), hex(v.aad), [ct], badTag)).toBeNull();
      expect(aead.open(hex(v.nonce), hex('00'), [ct], tag)).toBeNull();
      expect(aead.open(hex(v.nonce), hex(v.aad), [ct.subarray(1)], tag)).toBeNull();
      expect(aead.open(hex(v.nonce), hex(v.aad), [ct], tag.subarray(0, 15))).toBeNull();
      const nonce = hex(v.nonce);
      nonce[11]! ^= 1;
      expect(aead.open(nonce, hex(v.aad), [ct], tag)).toBeNull();
    });

    it('empty plaintext and empty AD', () => {
      const aead = provider.chacha20Poly1305(new Uint8Array(32));
      const sealed = aead.seal(new Uint8Array(12), undefined, []);
      expect(toHex(sealed)).toHaveLength(32);
      const tag = sealed[sealed.length - 1]!;
      expect(aead.open(new Uint8Array(12), new Uint8Array(0), [], tag)).toEqual(new Uint8Array(0));
    });
  });

  describe('hashes and KDF', () => {
    it('SHA-256 of "abc" (FIPS 180-2) in parts', () => {
      expect(toHex(provider.sha256([utf8('a'), utf8('bc')]))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
    });

    it('HMAC-SHA-256, RFC 4231 test case 2', () => {
      expect(
        toHex(provider.hmacSha256(utf8('Jefe'), [utf8('what do ya want '), utf8('for nothing?')])),
      ).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    });

    it('scrypt, RFC 7914 section 12 vector 2', async () => {
      const v = RFC7914_SCRYPT;
      const out = await provider.scrypt(utf8(v.password), utf8(v.salt), v);
      expect(toHex(out)).toBe(v.output);
    });
  });
});
