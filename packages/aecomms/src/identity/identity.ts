// A node's identity: an Ed25519 key pair and its PeerId.
import type { PeerId } from '@detr/interface';
import { defaultCryptoProvider } from '../crypto/default.js';
import type { CryptoProvider, Ed25519KeyPair } from '../crypto/provider.js';
import { peerIdFromPublicKey } from './peer-id.js';

/** An Ed25519 key pair and its PeerId. The private key never leaves this object unless exported. */
export interface Identity {
  readonly peerId: PeerId;
  /** The 32-byte Ed25519 public key (`peerId.publicKey`). */
  readonly publicKey: Uint8Array;
  /** The 64-byte Ed25519 signature of `data`. */
  sign(data: Uint8Array): Uint8Array;
  /** The 32-byte private seed, for a key file (see `saveIdentity`). Handle with care. */
  exportSeed(): Uint8Array;
  /** The provider that holds the key. */
  readonly provider: CryptoProvider;
}

/** Options of {@link createIdentity}. */
export interface CreateIdentityOptions {
  /**
   * The crypto provider holding the key.
   *
   * @default defaultCryptoProvider (sodium when it loads, else node:crypto)
   */
  provider?: CryptoProvider;
}

class KeyPairIdentity implements Identity {
  readonly peerId: PeerId;
  readonly publicKey: Uint8Array;

  constructor(
    private readonly key: Ed25519KeyPair,
    readonly provider: CryptoProvider,
  ) {
    this.peerId = peerIdFromPublicKey(key.publicKey);
    this.publicKey = this.peerId.publicKey;
  }

  sign(data: Uint8Array): Uint8Array {
    return this.key.sign(data);
  }

  exportSeed(): Uint8Array {
    return this.key.exportSeed();
  }
}

/**
 * A new random identity, or the identity of a 32-byte seed (RFC 8032 private key).
 *
 * @throws {RangeError} when `seed` is given and is not 32 bytes
 * @example
 * ```ts
 * const identity = createIdentity()
 * identity.peerId.toString() // 'd…'
 * const same = createIdentity(identity.exportSeed())
 * ```
 */
export function createIdentity(seed?: Uint8Array, options: CreateIdentityOptions = {}): Identity {
  const provider = options.provider ?? defaultCryptoProvider;
  const key = seed === undefined ? provider.generateEd25519() : provider.ed25519FromSeed(seed);
  return new KeyPairIdentity(key, provider);
}

/**
 * Verifies an Ed25519 signature. False for any malformed input; never throws.
 *
 * @example
 * ```ts
 * if (!verifySignature(peer.publicKey, data, signature)) reject()
 * ```
 */
export function verifySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  provider: CryptoProvider = defaultCryptoProvider,
): boolean {
  return provider.ed25519Verify(publicKey, data, signature);
}
