// Noise CipherState (spec revision 34, section 5.1) for ChaChaPoly: a key, a 64-bit nonce
// counter, EncryptWithAd / DecryptWithAd, and Rekey.
//
// The nonce is kept as two unsigned 32-bit halves so the full 64-bit range is exact (a JS number
// is exact only to 2^53). Nonce 2^64 − 1 is reserved by the spec: using it throws
// NonceExhaustedError. The ChaChaPoly nonce is 32 zero bits followed by the little-endian
// counter (spec section 12.3).
import type { Aead, CryptoProvider } from '../crypto/provider.js';
import { DecryptError, NonceExhaustedError } from '../errors.js';

/** Authentication tag length of ChaChaPoly. */
export const TAG_BYTES = 16;
/** The largest Noise message (spec section 3). */
export const MAX_NOISE_MESSAGE_BYTES = 65535;

const EMPTY = new Uint8Array(0);
const ZEROS_32 = new Uint8Array(32);
const MAX_NONCE = (() => {
  const n = new Uint8Array(12);
  n.fill(0xff, 4);
  return n;
})();

const SHARED_NONCE = new Uint8Array(12);
const SHARED_NONCE_VIEW = new DataView(SHARED_NONCE.buffer);

/** A Noise CipherState. */
export class CipherState {
  private aead: Aead | undefined;
  private lo = 0;
  private hi = 0;
  /**
   * The nonce of the current operation. One buffer for every CipherState of the process: each
   * AEAD call reads it synchronously and keeps no reference, so no connection needs its own.
   */
  private readonly nonce = SHARED_NONCE;
  private readonly nonceView = SHARED_NONCE_VIEW;

  constructor(private readonly provider: CryptoProvider) {}

  /** InitializeKey(k): sets the key (or clears it) and resets the nonce to zero. */
  initializeKey(key: Uint8Array | undefined): void {
    this.aead = key === undefined ? undefined : this.provider.chacha20Poly1305(key);
    this.lo = 0;
    this.hi = 0;
  }

  hasKey(): boolean {
    return this.aead !== undefined;
  }

  /** SetNonce(n) with n = hi · 2^32 + lo, for tests of the nonce limits. */
  setNonce(hi: number, lo: number): void {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** The current nonce as a bigint (diagnostics and tests). */
  nonceValue(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The current nonce (not advanced). */
  private currentNonce(): Uint8Array {
    if (this.lo === 0xffff_ffff && this.hi === 0xffff_ffff) throw new NonceExhaustedError();
    this.nonceView.setUint32(4, this.lo, true);
    this.nonceView.setUint32(8, this.hi, true);
    return this.nonce;
  }

  private advance(): void {
    if (this.lo === 0xffff_ffff) {
      this.lo = 0;
      this.hi = (this.hi + 1) >>> 0;
    } else {
      this.lo++;
    }
  }

  private nextNonce(): Uint8Array {
    const nonce = this.currentNonce();
    this.advance();
    return nonce;
  }

  /**
   * EncryptWithAd over the concatenation of `parts`: pieces whose concatenation is ct ‖ tag (or
   * the plaintext itself when there is no key yet).
   *
   * @throws {NonceExhaustedError} when the nonce space is used up
   */
  encryptParts(ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[] {
    if (this.aead === undefined) return parts.slice();
    return this.aead.seal(this.nextNonce(), ad, parts);
  }

  /**
   * True when {@link encryptInto} suits a plaintext of `bytes` (a key is set and its provider
   * encrypts in place at that size).
   */
  canEncryptInto(bytes: number): boolean {
    const aead = this.aead;
    return aead?.sealInto !== undefined && bytes <= (aead.sealIntoMaxBytes ?? Infinity);
  }

  /**
   * EncryptWithAd over the concatenation of `parts`, written as ct ‖ tag into `out` at `offset`
   * (which must have room for the parts plus 16 bytes). Only when {@link canEncryptInto}.
   *
   * @throws {NonceExhaustedError} when the nonce space is used up
   */
  encryptInto(
    ad: Uint8Array,
    parts: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
  ): number {
    const aead = this.aead;
    if (aead?.sealInto === undefined)
      throw new Error('encryptInto needs a key of an in-place provider');
    return aead.sealInto(this.nextNonce(), ad, parts, out, offset);
  }

  /**
   * DecryptWithAd of `ciphertext` given as pieces plus its tag; `null` on authentication failure.
   * On failure the nonce is not advanced (spec section 5.1), but callers treat it as fatal.
   *
   * @throws {NonceExhaustedError} when the nonce space is used up
   */
  decryptPieces(ad: Uint8Array, pieces: readonly Uint8Array[], tag: Uint8Array): Uint8Array | null {
    const aead = this.aead;
    if (aead === undefined) throw new Error('decryptPieces needs a key');
    const plaintext = aead.open(this.currentNonce(), ad, pieces, tag);
    if (plaintext === null) return null;
    this.advance();
    return plaintext;
  }

  /** EncryptWithAd(ad, plaintext) as one contiguous ciphertext. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return concat(this.encryptParts(ad, [plaintext]));
  }

  /**
   * DecryptWithAd(ad, ciphertext).
   *
   * @throws {DecryptError} when authentication fails or the ciphertext is shorter than a tag
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.aead === undefined) return ciphertext;
    if (ciphertext.length < TAG_BYTES) throw new DecryptError();
    const cut = ciphertext.length - TAG_BYTES;
    const plaintext = this.decryptPieces(
      ad,
      [ciphertext.subarray(0, cut)],
      ciphertext.subarray(cut),
    );
    if (plaintext === null) throw new DecryptError();
    return plaintext;
  }

  /** Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64 − 1, empty, 32 zero bytes). */
  rekey(): void {
    if (this.aead === undefined) throw new Error('rekey needs a key');
    const out = concat(this.aead.seal(MAX_NONCE, EMPTY, [ZEROS_32]));
    this.aead = this.provider.chacha20Poly1305(out.slice(0, 32));
  }

  /** The Aead of the current key (the secure session's hot path uses it directly). */
  currentAead(): Aead | undefined {
    return this.aead;
  }
}

/** Concatenates `parts` (returns the only part itself when there is one). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
