// The sodium provider: libsodium through `sodium-native` (the library @hyperswarm/secret-stream
// uses) for ChaCha20-Poly1305 up to 8 KiB, X25519, Ed25519 and SHA-256; HMAC-SHA-256 is RFC 2104
// over libsodium's SHA-256; ChaCha20-Poly1305 of longer messages and scrypt come from
// node:crypto (OpenSSL is faster per byte on long messages; the outputs are identical). The
// CSPRNG is libsodium's randombytes_buf (the OS generator).
//
// Why: a libsodium call is a plain function call on buffers. node:crypto needs a cipher object per
// ChaCha20-Poly1305 message (~9 µs for a small seal+open, and garbage for the GC), a KeyObject
// import per remote key, and a hash object per SHA-256/HMAC. libsodium seals and opens a 100-byte
// message in ~1–2 µs and encrypts in place, so a frame is one allocation: length, ciphertext and
// tag in one buffer (`Aead.sealInto`).
//
// The native module is loaded once, on first use; when it cannot load (no prebuilt binary for the
// platform), `sodiumCryptoProvider()` returns undefined and the default provider falls back to
// node:crypto.
//
// Differences from OpenSSL that callers may notice (none for valid inputs, and none in the
// known-answer tests): libsodium's Ed25519 verification also rejects small-order public keys and
// R values and non-canonical encodings (OpenSSL accepts some of those); a secret key lives in a
// Buffer of the JS heap here, inside an OpenSSL object with node:crypto.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { nativeAead } from './native.js';
import { nodeChaChaPoly, nodeCryptoProvider } from './node.js';
import {
  assertBytes,
  isAllZero,
  totalLength,
  type Aead,
  type CryptoProvider,
  type Ed25519KeyPair,
  type Ed25519PublicKey,
  type X25519KeyPair,
} from './provider.js';

/** The part of sodium-native's API used here. */
interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    c: Uint8Array,
    mac: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** Throws when authentication fails. */
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    mac: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): void;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  crypto_hash_sha256_init(state: Uint8Array): void;
  crypto_hash_sha256_update(state: Uint8Array, input: Uint8Array): void;
  crypto_hash_sha256_final(state: Uint8Array, out: Uint8Array): void;
  crypto_hash_sha256_STATEBYTES: number;
  randombytes_buf(out: Uint8Array): void;
}

const TAG_BYTES = 16;
const EMPTY = new Uint8Array(0);
/**
 * Messages longer than this are sealed and opened by node:crypto: OpenSSL's AVX2/AVX-512
 * ChaCha20 and Poly1305 beat libsodium's per byte, while libsodium wins on the fixed cost per
 * message (no cipher object). Measured crossover on this machine class: 4–8 KiB.
 */
export const SODIUM_AEAD_MAX_BYTES = 8 * 1024;
/**
 * The same limit when the native AEAD is built: it has no cipher object per message either, so
 * OpenSSL wins from about 512 bytes (seal+open: 2.2 µs against libsodium's 2.7 µs at 1 KiB, 4.2
 * against 6.7 µs at 4 KiB; equal at 512 B).
 */
export const SODIUM_AEAD_MAX_BYTES_NATIVE = 512;
/** The limit in use: messages over it go to Node's OpenSSL (the native AEAD when built). */
const LIBSODIUM_MAX_BYTES =
  nativeAead() === undefined ? SODIUM_AEAD_MAX_BYTES : SODIUM_AEAD_MAX_BYTES_NATIVE;
/** `sealInto` takes any size with the native AEAD (long messages go to it in place). */
const SEAL_INTO_MAX_BYTES = nativeAead() === undefined ? SODIUM_AEAD_MAX_BYTES : Infinity;

class SodiumX25519 implements X25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly secret: Uint8Array;

  constructor(
    private readonly s: Sodium,
    privateKey: Uint8Array,
  ) {
    this.secret = own(privateKey);
    const pub = new Uint8Array(32);
    s.crypto_scalarmult_base(pub, this.secret);
    this.publicKey = pub;
  }

  dh(remotePublicKey: Uint8Array): Uint8Array {
    assertBytes(remotePublicKey, 32, 'an X25519 public key');
    const out = new Uint8Array(32);
    try {
      // libsodium refuses a low-order point and an all-zero result itself.
      this.s.crypto_scalarmult(out, this.secret, remotePublicKey);
    } catch (err) {
      throw new RangeError('X25519 with a low-order public key', { cause: err });
    }
    if (isAllZero(out)) throw new RangeError('X25519 with a low-order public key');
    return out;
  }
}

class SodiumEd25519 implements Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  private readonly secret = new Uint8Array(64);
  private readonly seed: Uint8Array;

  constructor(
    private readonly s: Sodium,
    seed: Uint8Array,
  ) {
    this.seed = Uint8Array.from(seed);
    const pub = new Uint8Array(32);
    s.crypto_sign_seed_keypair(pub, this.secret, this.seed);
    this.publicKey = pub;
  }

  sign(message: Uint8Array): Uint8Array {
    const sig = new Uint8Array(64);
    this.s.crypto_sign_detached(sig, message, this.secret);
    return sig;
  }

  exportSeed(): Uint8Array {
    return Uint8Array.from(this.seed);
  }
}

function verify(s: Sodium, pk: Uint8Array, message: Uint8Array, signature: unknown): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return s.crypto_sign_verify_detached(signature, message, pk);
  } catch {
    return false;
  }
}

class SodiumEd25519Public implements Ed25519PublicKey {
  readonly bytes: Uint8Array;

  constructor(
    private readonly s: Sodium,
    bytes: Uint8Array,
  ) {
    this.bytes = Uint8Array.from(bytes);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verify(this.s, this.bytes, message, signature);
  }
}

/**
 * A copy in its own memory. Keys and other long-lived values are never slices of Buffer's shared
 * 8 KiB pool: one 32-byte key would keep a whole slab alive for the connection's lifetime.
 */
function own(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

class SodiumAead implements Aead {
  readonly sealIntoMaxBytes = SEAL_INTO_MAX_BYTES;
  private readonly key: Uint8Array;
  private large: Aead | undefined;

  constructor(
    private readonly s: Sodium,
    key: Uint8Array,
  ) {
    this.key = own(key);
  }

  /** Node's OpenSSL for long messages (the native addon when built), created on first use. */
  private get node(): Aead {
    return (this.large ??= nodeChaChaPoly(this.key));
  }

  seal(nonce: Uint8Array, ad: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[] {
    const n = totalLength(parts);
    if (n > LIBSODIUM_MAX_BYTES) return this.node.seal(nonce, ad, parts);
    const out = Buffer.allocUnsafe(n + TAG_BYTES);
    this.sealInto(nonce, ad, parts, out, 0);
    return [out];
  }

  sealInto(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    parts: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
  ): number {
    if (totalLength(parts) > LIBSODIUM_MAX_BYTES) {
      const node = this.node;
      if (node.sealInto !== undefined) return node.sealInto(nonce, ad, parts, out, offset);
      let o = offset;
      for (const piece of node.seal(nonce, ad, parts)) {
        out.set(piece, o);
        o += piece.length;
      }
      return o - offset;
    }
    // Gather the plaintext where the ciphertext goes, then encrypt in place (libsodium allows
    // the message and ciphertext to be the same buffer).
    let o = offset;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Uint8Array;
      out.set(p, o);
      o += p.length;
    }
    const body = out.subarray(offset, o);
    this.s.crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      body,
      out.subarray(o, o + TAG_BYTES),
      body,
      ad !== undefined && ad.length > 0 ? ad : null,
      null,
      nonce,
      this.key,
    );
    return o + TAG_BYTES - offset;
  }

  open(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array | null {
    if (tag.length !== TAG_BYTES) return null;
    const n = totalLength(pieces);
    if (n > LIBSODIUM_MAX_BYTES) return this.node.open(nonce, ad, pieces, tag);
    // Its own memory (never a slice of Buffer's shared pool): a caller may keep a plaintext, or a
    // view into it, for long (a handshake payload's keys), which must not pin a pool slab.
    const out = Buffer.allocUnsafeSlow(n);
    let ct: Uint8Array;
    if (pieces.length === 1) {
      ct = pieces[0] as Uint8Array;
    } else {
      // Several pieces: gather them into the output and decrypt in place.
      let o = 0;
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i] as Uint8Array;
        out.set(p, o);
        o += p.length;
      }
      ct = out;
    }
    try {
      this.s.crypto_aead_chacha20poly1305_ietf_decrypt_detached(
        out,
        null,
        ct,
        tag,
        ad !== undefined && ad.length > 0 ? ad : null,
        nonce,
        this.key,
      );
    } catch {
      return null;
    }
    return n === 0 ? EMPTY : out;
  }
}

const BLOCK = 64;
/** Hash inputs up to this size are gathered into one buffer and hashed in one call. */
const GATHER_MAX_BYTES = 16 * 1024;

function makeProvider(s: Sodium): CryptoProvider {
  const stateBytes = s.crypto_hash_sha256_STATEBYTES;
  const state = new Uint8Array(stateBytes);
  // Inputs of short hashes are gathered here and hashed in one call (the Noise handshake hashes
  // many short concatenations: each native call has a fixed cost). One buffer for the process:
  // every call runs to completion synchronously.
  let scratch = new Uint8Array(1024);
  const gather = (first: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array => {
    let n = first?.length ?? 0;
    for (let i = 0; i < parts.length; i++) n += (parts[i] as Uint8Array).length;
    if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
    let o = 0;
    if (first !== undefined) {
      scratch.set(first, 0);
      o = first.length;
    }
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Uint8Array;
      scratch.set(p, o);
      o += p.length;
    }
    return scratch.subarray(0, n);
  };
  const sha256Parts = (parts: readonly Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(32);
    if (parts.length === 1) {
      s.crypto_hash_sha256(out, parts[0] as Uint8Array);
      return out;
    }
    let n = 0;
    for (let i = 0; i < parts.length; i++) n += (parts[i] as Uint8Array).length;
    if (n <= GATHER_MAX_BYTES) {
      const input = gather(undefined, parts);
      s.crypto_hash_sha256(out, input);
      input.fill(0); // HKDF hashes secrets (DH results) through here
      return out;
    }
    s.crypto_hash_sha256_init(state);
    for (let i = 0; i < parts.length; i++) {
      s.crypto_hash_sha256_update(state, parts[i] as Uint8Array);
    }
    s.crypto_hash_sha256_final(state, out);
    return out;
  };
  const pads = new Uint8Array(2 * BLOCK);
  return {
    name: 'sodium',
    randomBytes(length) {
      const out = new Uint8Array(length);
      s.randombytes_buf(out);
      return out;
    },
    generateX25519() {
      const secret = new Uint8Array(32);
      s.randombytes_buf(secret);
      return new SodiumX25519(s, secret);
    },
    x25519FromPrivateKey(privateKey) {
      assertBytes(privateKey, 32, 'an X25519 private key');
      return new SodiumX25519(s, privateKey);
    },
    x25519(scalar, u) {
      assertBytes(scalar, 32, 'an X25519 scalar');
      assertBytes(u, 32, 'an X25519 u-coordinate');
      const out = new Uint8Array(32);
      try {
        s.crypto_scalarmult(out, scalar, u);
      } catch (err) {
        // libsodium refuses low-order points; the raw function's result there is all zeros.
        throw new RangeError('X25519 with a low-order point', { cause: err });
      }
      return out;
    },
    generateEd25519: () => new SodiumEd25519(s, randomBytes(32)), // node's: rare, and a seed to keep
    ed25519FromSeed(seed) {
      assertBytes(seed, 32, 'an Ed25519 seed');
      return new SodiumEd25519(s, seed);
    },
    ed25519PublicKey(publicKey) {
      assertBytes(publicKey, 32, 'an Ed25519 public key');
      return new SodiumEd25519Public(s, publicKey);
    },
    ed25519Verify(publicKey, message, signature) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
      return verify(s, publicKey, message, signature);
    },
    sha256: sha256Parts,
    hmacSha256(key, parts) {
      // RFC 2104: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ text)), K hashed first when longer than a block.
      const k = key.length > BLOCK ? sha256Parts([key]) : key;
      const ipad = pads.subarray(0, BLOCK).fill(0x36);
      const opad = pads.subarray(BLOCK).fill(0x5c);
      for (let i = 0; i < k.length; i++) {
        ipad[i] = (ipad[i] as number) ^ (k[i] as number);
        opad[i] = (opad[i] as number) ^ (k[i] as number);
      }
      const inner = sha256Parts([ipad, ...parts]);
      const out = new Uint8Array(32);
      const outer = gather(opad, [inner]);
      s.crypto_hash_sha256(out, outer);
      outer.fill(0);
      pads.fill(0);
      return out;
    },
    chacha20Poly1305(key) {
      assertBytes(key, 32, 'a ChaCha20-Poly1305 key');
      return new SodiumAead(s, key);
    },
    // Key files only (not a hot path): node:crypto's scrypt.
    scrypt: (password, salt, params) => nodeCryptoProvider.scrypt(password, salt, params),
  };
}

let loaded: { provider: CryptoProvider | undefined; error: unknown } | undefined;

/**
 * The libsodium provider (through `sodium-native`), or `undefined` when the native module cannot
 * be loaded on this platform. Loaded once per process. Fastest for small messages and handshakes;
 * byte-identical outputs to the other providers (same known-answer tests and Noise vectors).
 *
 * @example
 * ```ts
 * const provider = sodiumCryptoProvider() ?? nodeCryptoProvider
 * ```
 */
export function sodiumCryptoProvider(): CryptoProvider | undefined {
  if (loaded === undefined) {
    try {
      const s = createRequire(import.meta.url)('sodium-native') as Sodium;
      loaded = { provider: makeProvider(s), error: undefined };
    } catch (error) {
      loaded = { provider: undefined, error };
    }
  }
  return loaded.provider;
}

/** Why {@link sodiumCryptoProvider} returned undefined (diagnostics), or undefined. */
export function sodiumLoadError(): unknown {
  sodiumCryptoProvider();
  return loaded?.error;
}
