// The default provider: node:crypto (OpenSSL). Native ChaCha20-Poly1305, X25519 and Ed25519
// KeyObjects.
//
// Keys are imported from raw bytes through JWK, never DER: on Node 20 / OpenSSL 3.0 a PKCS#8 or
// SPKI import costs ~350 µs (the OpenSSL 3 decoder machinery) where a JWK import costs ~5–35 µs.
// A JWK private key needs an `x` member, which Node ignores for private keys (the public key is
// derived from `d`); we pass an empty one and read the derived public key back. The known-answer
// tests (RFC 7748 §6.1, RFC 8032 §7.1) check the derived public keys, so a change in that behaviour
// would fail loudly.
//
// `generateKeyPairSync` is never used: on Node 20.20 calling `export()` on a KeyObject it returned
// can deadlock (the export holds the key's mutex while allocating; a GC in that window runs the
// finished KeyGenJob's destructor, which takes the same mutex). Keys are generated as 32 random
// bytes and imported instead, which is as fast.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  scrypt as nodeScrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import {
  assertBytes,
  isAllZero,
  totalLength,
  type Aead,
  type CryptoProvider,
  type Ed25519KeyPair,
  type Ed25519PublicKey,
  type ScryptParams,
  type X25519KeyPair,
} from './provider.js';
import { NativeChaChaPoly, nativeAead } from './native.js';

const b64u = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

function publicFromJwk(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

function importX25519Public(bytes: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(bytes) }, format: 'jwk' });
}

function importEd25519Public(bytes: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(bytes) }, format: 'jwk' });
}

class NodeX25519 implements X25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;

  constructor(privateKey: Uint8Array) {
    this.key = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', x: '', d: b64u(privateKey) },
      format: 'jwk',
    });
    this.publicKey = publicFromJwk(this.key);
  }

  dh(remotePublicKey: Uint8Array): Uint8Array {
    assertBytes(remotePublicKey, 32, 'an X25519 public key');
    let out: Buffer;
    try {
      out = diffieHellman({ privateKey: this.key, publicKey: importX25519Public(remotePublicKey) });
    } catch (err) {
      // OpenSSL refuses an all-zero result (a low-order point) itself.
      throw new RangeError('X25519 with a low-order public key', { cause: err });
    }
    if (isAllZero(out)) throw new RangeError('X25519 with a low-order public key');
    return out;
  }
}

class NodeEd25519 implements Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;
  private readonly seed: Uint8Array;

  constructor(seed: Uint8Array) {
    this.seed = Uint8Array.from(seed);
    this.key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: '', d: b64u(seed) },
      format: 'jwk',
    });
    this.publicKey = publicFromJwk(this.key);
  }

  sign(message: Uint8Array): Uint8Array {
    return nodeSign(null, message, this.key);
  }

  exportSeed(): Uint8Array {
    return Uint8Array.from(this.seed);
  }
}

class NodeEd25519Public implements Ed25519PublicKey {
  readonly bytes: Uint8Array;
  private readonly key: KeyObject;

  constructor(bytes: Uint8Array) {
    this.bytes = Uint8Array.from(bytes);
    this.key = importEd25519Public(bytes);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    try {
      return nodeVerify(null, message, this.key, signature);
    } catch {
      return false;
    }
  }
}

const TAG_BYTES = 16;

const AUTH_TAG = { authTagLength: TAG_BYTES } as const;

/**
 * @internal ChaCha20-Poly1305 under `key` with Node's OpenSSL: through the native addon when it is
 * built (in place, no allocation per message), else through node:crypto's cipher objects. Also
 * the sodium provider's large-message path.
 */
export function nodeChaChaPoly(key: Uint8Array): Aead {
  const native = nativeAead();
  return native === undefined ? new NodeAead(key) : new NativeChaChaPoly(native, key);
}

/** @internal node:crypto's ChaCha20-Poly1305 (the path without the native addon). */
export class NodeAead implements Aead {
  // Its own memory, never a slice of Buffer's pool (a long-lived key would pin a whole slab).
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    this.key = Uint8Array.from(key);
  }

  seal(nonce: Uint8Array, ad: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[] {
    const cipher = createCipheriv('chacha20-poly1305', this.key, nonce, AUTH_TAG);
    if (ad !== undefined && ad.length > 0)
      cipher.setAAD(ad, { plaintextLength: totalLength(parts) });
    const out: Uint8Array[] = [];
    for (const part of parts) {
      if (part.length > 0) out.push(cipher.update(part));
    }
    cipher.final();
    out.push(cipher.getAuthTag());
    return out;
  }

  open(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array | null {
    if (tag.length !== TAG_BYTES) return null;
    const decipher = createDecipheriv('chacha20-poly1305', this.key, nonce, AUTH_TAG);
    decipher.setAuthTag(tag);
    if (ad !== undefined && ad.length > 0)
      decipher.setAAD(ad, { plaintextLength: totalLength(pieces) });
    let single: Buffer | undefined;
    let many: Buffer[] | undefined;
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      const p = decipher.update(piece);
      if (single === undefined) single = p;
      else (many ??= [single]).push(p);
    }
    try {
      decipher.final();
    } catch {
      return null;
    }
    if (many !== undefined) return Buffer.concat(many);
    return single ?? new Uint8Array(0);
  }
}

/**
 * The `node:crypto` provider: native OpenSSL primitives, the fast path and the default.
 *
 * @example
 * ```ts
 * const session = await performHandshake(socket, { ...options, provider: nodeCryptoProvider })
 * ```
 */
export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  randomBytes: (length) => randomBytes(length),
  generateX25519: () => new NodeX25519(randomBytes(32)),
  x25519FromPrivateKey(privateKey) {
    assertBytes(privateKey, 32, 'an X25519 private key');
    return new NodeX25519(privateKey);
  },
  x25519(scalar, u) {
    assertBytes(scalar, 32, 'an X25519 scalar');
    assertBytes(u, 32, 'an X25519 u-coordinate');
    const priv = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', x: '', d: b64u(scalar) },
      format: 'jwk',
    });
    return diffieHellman({ privateKey: priv, publicKey: importX25519Public(u) });
  },
  generateEd25519: () => new NodeEd25519(randomBytes(32)),
  ed25519FromSeed(seed) {
    assertBytes(seed, 32, 'an Ed25519 seed');
    return new NodeEd25519(seed);
  },
  ed25519PublicKey(publicKey) {
    assertBytes(publicKey, 32, 'an Ed25519 public key');
    return new NodeEd25519Public(publicKey);
  },
  ed25519Verify(publicKey, message, signature) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    try {
      return nodeVerify(null, message, importEd25519Public(publicKey), signature);
    } catch {
      return false;
    }
  },
  sha256(parts) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hmacSha256(key, parts) {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
  chacha20Poly1305(key) {
    assertBytes(key, 32, 'a ChaCha20-Poly1305 key');
    return nodeChaChaPoly(key);
  },
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
    const { N, r, p, dkLen } = params;
    return new Promise((resolve, reject) => {
      nodeScrypt(
        password,
        salt,
        dkLen,
        { N, r, p, maxmem: 128 * N * r * p + 1024 * 1024 },
        (err, key) => {
          if (err !== null) reject(err);
          else resolve(new Uint8Array(key));
        },
      );
    });
  },
};
