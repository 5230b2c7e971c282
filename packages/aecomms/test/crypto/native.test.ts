// The native ChaCha20-Poly1305 (native/src/aead.cc) against node:crypto's, on random messages of
// every size class, plus its argument checks. CI sets DETR_NATIVE_REQUIRED=1: there a missing
// build fails here instead of silently falling back.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { nativeAead, nativeAeadError } from '../../src/index.js';
import { NativeChaChaPoly } from '../../src/crypto/native.js';
import { NodeAead } from '../../src/crypto/node.js';
import { nodeCryptoProvider } from '../../src/index.js';
import { sodiumProvider } from '../helpers.js';
import { concat } from '../../src/noise/cipher-state.js';

const native = nativeAead();

/** Expects a TypeError (the addon's, from outside jest's module realm: compared by name). */
function typeError(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect((caught as Error | undefined)?.name).toBe('TypeError');
}

/** Byte equality without jest's element-by-element diffing (slow on 64 KiB). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

describe('native AEAD build', () => {
  it('is loaded (required on CI)', () => {
    if (process.env['DETR_NATIVE_REQUIRED'] === '1') {
      expect(nativeAeadError()).toBeUndefined();
      expect(native).toBeDefined();
    } else {
      // Either it loaded or it says why not.
      expect(native !== undefined || nativeAeadError() instanceof Error).toBe(true);
    }
  });

  it('is what the node and sodium providers use for long messages when loaded', () => {
    const key = randomBytes(32);
    const aead = nodeCryptoProvider.chacha20Poly1305(key);
    expect(aead instanceof NativeChaChaPoly).toBe(native !== undefined);
    const sodium = sodiumProvider.chacha20Poly1305(key);
    expect(sodium.sealIntoMaxBytes).toBe(native !== undefined ? Infinity : 8 * 1024);
  });
});

(native === undefined ? describe.skip : describe)('native AEAD', () => {
  const n = native!;
  const SIZES = [0, 1, 15, 16, 63, 64, 65, 1000, 8191, 8193, 16_384, 65_519];

  it.each(SIZES)('%i bytes: sealed and opened as node:crypto does, from any split', (size) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const ad = size % 2 === 0 ? randomBytes(size % 97) : undefined;
    const pt = randomBytes(size);
    const reference = concat(new NodeAead(key).seal(nonce, ad, [pt]));
    const cut = Math.floor(size / 3);
    const parts = [pt.subarray(0, cut), pt.subarray(cut, cut), pt.subarray(cut)];
    const aead = new NativeChaChaPoly(n, key);
    expect(same(concat(aead.seal(nonce, ad, parts)), reference)).toBe(true);
    // Into a frame buffer at an offset.
    const frame = Buffer.alloc(3 + size + 16, 0xee);
    expect(aead.sealInto(nonce, ad, parts, frame, 3)).toBe(size + 16);
    expect(same(frame.subarray(3), reference)).toBe(true);
    expect(frame.subarray(0, 3)).toEqual(Buffer.alloc(3, 0xee));
    // In place: the plaintext already where the ciphertext goes.
    const inPlace = Buffer.alloc(size + 16);
    inPlace.set(pt, 0);
    n.seal(key, nonce, ad ?? null, [inPlace.subarray(0, size)], inPlace, 0);
    expect(same(inPlace, reference)).toBe(true);
    const ct = reference.subarray(0, size);
    const tag = reference.subarray(size);
    const pieces = [ct.subarray(0, cut), ct.subarray(cut)];
    expect(same(aead.open(nonce, ad, pieces, tag)!, pt)).toBe(true);
    expect(same(new NodeAead(key).open(nonce, ad, pieces, tag)!, pt)).toBe(true);
  });

  it('a forged message opens to null and leaves no plaintext in the output', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const pt = randomBytes(5000);
    const sealed = concat(new NativeChaChaPoly(n, key).seal(nonce, undefined, [pt]));
    const ct = Uint8Array.from(sealed.subarray(0, 5000));
    ct[4999]! ^= 1;
    const out = new Uint8Array(5000).fill(0xaa);
    expect(n.open(key, nonce, null, [ct], out, 0, sealed.subarray(5000))).toBe(false);
    expect(out.every((b) => b === 0)).toBe(true);
    expect(new NativeChaChaPoly(n, key).open(nonce, undefined, [ct], sealed.subarray(5000))).toBe(
      null,
    );
    expect(new NativeChaChaPoly(n, key).open(nonce, undefined, [ct], new Uint8Array(15))).toBe(
      null,
    );
  });

  it('more parts than one native call takes are joined first', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const pt = randomBytes(1000);
    const parts = Array.from({ length: 100 }, (_, i) => pt.subarray(i * 10, i * 10 + 10));
    const reference = concat(new NodeAead(key).seal(nonce, undefined, [pt]));
    expect(Buffer.from(concat(new NativeChaChaPoly(n, key).seal(nonce, undefined, parts)))).toEqual(
      Buffer.from(reference),
    );
  });

  it('malformed arguments throw a TypeError, never crash', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const out = new Uint8Array(64);
    const seal = n.seal.bind(n) as (...args: unknown[]) => number;
    const open = n.open.bind(n) as (...args: unknown[]) => boolean;
    typeError(() => seal(key.subarray(1), nonce, null, [], out, 0));
    typeError(() => seal(key, nonce.subarray(1), null, [], out, 0));
    typeError(() => seal(key, nonce, 'ad', [], out, 0));
    typeError(() => seal(key, nonce, null, 'x', out, 0));
    typeError(() => seal(key, nonce, null, [new Uint16Array(4)], out, 0));
    typeError(() => seal(key, nonce, null, new Array(65).fill(out), out, 0));
    typeError(() => seal(key, nonce, null, [new Uint8Array(49)], out, 0));
    typeError(() => seal(key, nonce, null, [new Uint8Array(8)], out, 60));
    typeError(() => seal(key, nonce, null, [], out, -1));
    typeError(() => seal(key, nonce, null, []));
    typeError(() => open(key, nonce, null, [new Uint8Array(8)], out, 0, new Uint8Array(15)));
    typeError(() => open(key, nonce, null, [new Uint8Array(65)], out, 0, new Uint8Array(16)));
    expect(seal(key, nonce, null, [], out, 48)).toBe(16);
  });
});
