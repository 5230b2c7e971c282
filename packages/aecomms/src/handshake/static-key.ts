// The Noise static key of an identity and the identity's signature binding the two.
import type { CryptoProvider, X25519KeyPair } from '../crypto/provider.js';
import type { Identity } from '../identity/identity.js';

const PREFIX = new TextEncoder().encode('detr-noise-static-key:');

/** A Noise static key pair and the identity's signature over its public key. */
export interface NoiseStaticKey {
  readonly keyPair: X25519KeyPair;
  /** Ed25519 signature by the identity of {@link staticKeySigningBytes}(public key). */
  readonly identitySig: Uint8Array;
  /** The provider that holds `keyPair`. */
  readonly provider: CryptoProvider;
}

/**
 * The bytes the identity signs to bind a Noise static key: `"detr-noise-static-key:"` ‖ key.
 *
 * @example
 * ```ts
 * verifySignature(identityKey, staticKeySigningBytes(remoteStatic), identitySig)
 * ```
 */
export function staticKeySigningBytes(staticPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX.length + staticPublicKey.length);
  out.set(PREFIX, 0);
  out.set(staticPublicKey, PREFIX.length);
  return out;
}

/**
 * Generates a Noise static key for `identity` and signs it. Do it once and reuse it for every
 * handshake (`performHandshake` caches one per identity and provider when none is given).
 *
 * @throws {RangeError} when `privateKey` is given and is not 32 bytes
 * @example
 * ```ts
 * const staticKey = createNoiseStaticKey(identity, nodeCryptoProvider)
 * await performHandshake(socket, { ...options, staticKey })
 * ```
 */
export function createNoiseStaticKey(
  identity: Identity,
  provider: CryptoProvider,
  privateKey?: Uint8Array,
): NoiseStaticKey {
  const keyPair =
    privateKey === undefined
      ? provider.generateX25519()
      : provider.x25519FromPrivateKey(privateKey);
  return Object.freeze({
    keyPair,
    identitySig: identity.sign(staticKeySigningBytes(keyPair.publicKey)),
    provider,
  });
}

const cache = new WeakMap<Identity, Map<CryptoProvider, NoiseStaticKey>>();

/** @internal The cached static key of (identity, provider), created on first use. */
export function cachedNoiseStaticKey(identity: Identity, provider: CryptoProvider): NoiseStaticKey {
  let byProvider = cache.get(identity);
  if (byProvider === undefined) {
    byProvider = new Map();
    cache.set(identity, byProvider);
  }
  let key = byProvider.get(provider);
  if (key === undefined) {
    key = createNoiseStaticKey(identity, provider);
    byProvider.set(provider, key);
  }
  return key;
}
