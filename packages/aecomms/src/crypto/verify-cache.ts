// A bounded memory of signatures already found valid. Ed25519 verification is a pure function of
// (public key, message, signature), so a repeated check of the very same bytes may reuse the
// answer: reconnections between the same peers then skip the identity-signature and token
// verifications (two per side, ~60–130 µs each) of every handshake after the first. Only valid
// signatures are remembered; a hit requires the key, message and signature to be byte-identical.
import type { CryptoProvider } from './provider.js';

interface Entry {
  key: Uint8Array;
  message: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** @internal Least-recently-used set of valid (key, message, signature) triples. */
export class VerifiedSignatures {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  /**
   * True when `signature` is a valid signature of `message` by `publicKey`: from memory when
   * these exact bytes were verified before, else through `verify` (remembered when valid).
   */
  check(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    verify: () => boolean,
  ): boolean {
    if (this.maxEntries === 0 || signature.length !== 64) return verify();
    const id = Buffer.from(signature.buffer, signature.byteOffset, 64).toString('latin1');
    const hit = this.entries.get(id);
    if (hit !== undefined && same(hit.key, publicKey) && same(hit.message, message)) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return true;
    }
    if (!verify()) return false;
    this.entries.delete(id);
    this.entries.set(id, { key: Uint8Array.from(publicKey), message: Uint8Array.from(message) });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Signatures binding identity keys to Noise static keys, per provider (their rules differ). */
const staticKeySignatures = new WeakMap<CryptoProvider, VerifiedSignatures>();

/** @internal The process-wide cache of verified identity/static-key signatures of `provider`. */
export function staticKeySignatureCache(provider: CryptoProvider): VerifiedSignatures {
  let cache = staticKeySignatures.get(provider);
  if (cache === undefined) {
    cache = new VerifiedSignatures(STATIC_KEY_SIGNATURE_CACHE_ENTRIES);
    staticKeySignatures.set(provider, cache);
  }
  return cache;
}

/** Identity/static-key signatures remembered per provider (about 200 bytes each). */
export const STATIC_KEY_SIGNATURE_CACHE_ENTRIES = 1024;
/** Default of `TokenVerifierInit.verifiedTokenCacheEntries`. */
export const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES = 1024;
