// The portable reference provider: pure-JS @noble/ciphers, @noble/curves and @noble/hashes.
// Slower than node:crypto by one to two orders of magnitude; used to cross-check it and where no
// OpenSSL is available.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  assertBytes,
  isAllZero,
  type Aead,
  type CryptoProvider,
  type Ed25519KeyPair,
  type Ed25519PublicKey,
  type X25519KeyPair,
} from './provider.js';

const TAG_BYTES = 16;

function concat(parts: readonly Uint8Array[]): Uint8Array {
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

class NobleX25519 implements X25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly privateKey: Uint8Array;

  constructor(privateKey: Uint8Array) {
    this.privateKey = Uint8Array.from(privateKey);
    this.publicKey = x25519.getPublicKey(this.privateKey);
  }

  dh(remotePublicKey: Uint8Array): Uint8Array {
    assertBytes(remotePublicKey, 32, 'an X25519 public key');
    let out: Uint8Array;
    try {
      out = x25519.scalarMult(this.privateKey, remotePublicKey);
    } catch (err) {
      throw new RangeError('X25519 with a low-order public key', { cause: err });
    }
    if (isAllZero(out)) throw new RangeError('X25519 with a low-order public key');
    return out;
  }
}

class NobleEd25519 implements Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly seed: Uint8Array;

  constructor(seed: Uint8Array) {
    this.seed = Uint8Array.from(seed);
    this.publicKey = ed25519.getPublicKey(this.seed);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.seed);
  }

  exportSeed(): Uint8Array {
    return Uint8Array.from(this.seed);
  }
}

function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    // RFC 8032 / FIPS 186-5 encodings (not ZIP-215), as OpenSSL checks them.
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

class NobleEd25519Public implements Ed25519PublicKey {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = Uint8Array.from(bytes);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verify(this.bytes, message, signature);
  }
}

class NobleAead implements Aead {
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    this.key = Uint8Array.from(key);
  }

  seal(nonce: Uint8Array, ad: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[] {
    const aad = ad !== undefined && ad.length > 0 ? ad : undefined;
    return [chacha20poly1305(this.key, nonce, aad).encrypt(concat(parts))];
  }

  open(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array | null {
    if (tag.length !== TAG_BYTES) return null;
    const aad = ad !== undefined && ad.length > 0 ? ad : undefined;
    try {
      return chacha20poly1305(this.key, nonce, aad).decrypt(concat([...pieces, tag]));
    } catch {
      return null;
    }
  }
}

/**
 * The `@noble` provider: audited pure-JS implementations, the portable reference.
 *
 * @example
 * ```ts
 * const identity = createIdentity(undefined, { provider: nobleCryptoProvider })
 * ```
 */
export const nobleCryptoProvider: CryptoProvider = {
  name: 'noble',
  randomBytes: (length) => randomBytes(length),
  generateX25519: () => new NobleX25519(randomBytes(32)),
  x25519FromPrivateKey(privateKey) {
    assertBytes(privateKey, 32, 'an X25519 private key');
    return new NobleX25519(privateKey);
  },
  x25519(scalar, u) {
    assertBytes(scalar, 32, 'an X25519 scalar');
    assertBytes(u, 32, 'an X25519 u-coordinate');
    return x25519.scalarMult(scalar, u);
  },
  generateEd25519: () => new NobleEd25519(randomBytes(32)),
  ed25519FromSeed(seed) {
    assertBytes(seed, 32, 'an Ed25519 seed');
    return new NobleEd25519(seed);
  },
  ed25519PublicKey(publicKey) {
    assertBytes(publicKey, 32, 'an Ed25519 public key');
    return new NobleEd25519Public(publicKey);
  },
  ed25519Verify: verify,
  sha256(parts) {
    const h = sha256.create();
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hmacSha256(key, parts) {
    const h = hmac.create(sha256, key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
  chacha20Poly1305(key) {
    assertBytes(key, 32, 'a ChaCha20-Poly1305 key');
    return new NobleAead(key);
  },
  scrypt(password, salt, params) {
    const { N, r, p, dkLen } = params;
    return scryptAsync(password, salt, { N, r, p, dkLen, maxmem: 128 * N * r * p + 1024 * 1024 });
  },
};
