// The crypto provider contract: every primitive aecomms uses, behind one interface, so the fast
// `node:crypto` path and the portable `@noble` reference are interchangeable and cross-testable.

/** An X25519 key pair; the private key stays inside the object (a KeyObject on node). */
export interface X25519KeyPair {
  /** The 32-byte public key (u-coordinate). */
  readonly publicKey: Uint8Array;
  /**
   * X25519 with `remotePublicKey`: the 32-byte shared secret.
   *
   * @throws {RangeError} when `remotePublicKey` is not 32 bytes or the result is all zeros (a
   * low-order point)
   */
  dh(remotePublicKey: Uint8Array): Uint8Array;
}

/** An Ed25519 signing key; the seed stays inside the object unless exported on purpose. */
export interface Ed25519KeyPair {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The 64-byte RFC 8032 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
  /** The 32-byte RFC 8032 private key (seed), e.g. for a key file. */
  exportSeed(): Uint8Array;
}

/** An imported Ed25519 public key, for verifying many signatures by the same key cheaply. */
export interface Ed25519PublicKey {
  readonly bytes: Uint8Array;
  /** True when `signature` is a valid signature of `message`; false for any malformed input. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** ChaCha20-Poly1305 (RFC 8439) under one fixed key. */
export interface Aead {
  /**
   * Encrypts the concatenation of `parts` (without concatenating them where the provider can),
   * authenticating `ad`. Returns pieces whose concatenation is `ciphertext ‖ tag(16)`; the last
   * piece always ends with the tag.
   */
  seal(nonce: Uint8Array, ad: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[];
  /**
   * Optional fast path: encrypts the concatenation of `parts` into `out` at `offset` as
   * `ciphertext ‖ tag(16)` and returns the bytes written. Providers that encrypt in place offer it
   * so a whole frame is one buffer; callers fall back to {@link seal} without it, and for
   * messages longer than {@link sealIntoMaxBytes}.
   */
  sealInto?(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    parts: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
  ): number;
  /** The longest plaintext {@link sealInto} is meant for (unlimited when absent). */
  readonly sealIntoMaxBytes?: number;
  /**
   * Decrypts the ciphertext given as the concatenation of `pieces`, checking `tag` and `ad`.
   * Returns the plaintext, or `null` when authentication fails (never a partial plaintext). The
   * plaintext is memory of its own, never a view of the pieces: callers keep it, and may reuse
   * the pieces' memory at once.
   */
  open(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array | null;
}

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
  /** Output length in bytes. */
  dkLen: number;
}

/**
 * Every primitive aecomms needs: X25519 (RFC 7748), Ed25519 (RFC 8032), ChaCha20-Poly1305
 * (RFC 8439), SHA-256 / HMAC-SHA-256, scrypt and a CSPRNG. Two implementations ship:
 * {@link nodeCryptoProvider} (default, native) and {@link nobleCryptoProvider} (portable
 * reference); both pass the same known-answer tests and produce byte-identical outputs.
 *
 * @example
 * ```ts
 * const provider = options.provider ?? nodeCryptoProvider
 * const keys = provider.generateX25519()
 * ```
 */
export interface CryptoProvider {
  /** `'sodium'`, `'node'` or `'noble'` for the built-in providers. */
  readonly name: string;
  /** `length` bytes from a cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;
  /** A new random X25519 key pair. */
  generateX25519(): X25519KeyPair;
  /**
   * The X25519 key pair of a 32-byte private key (clamped as RFC 7748 says).
   *
   * @throws {RangeError} unless `privateKey` has 32 bytes
   */
  x25519FromPrivateKey(privateKey: Uint8Array): X25519KeyPair;
  /**
   * The raw X25519 function of RFC 7748 section 5 (scalar × u-coordinate), without the all-zero
   * check of {@link X25519KeyPair.dh}. For known-answer tests.
   *
   * @throws {RangeError} unless both inputs have 32 bytes
   */
  x25519(scalar: Uint8Array, u: Uint8Array): Uint8Array;
  /** A new random Ed25519 key pair. */
  generateEd25519(): Ed25519KeyPair;
  /**
   * The Ed25519 key pair of a 32-byte RFC 8032 private key (seed).
   *
   * @throws {RangeError} unless `seed` has 32 bytes
   */
  ed25519FromSeed(seed: Uint8Array): Ed25519KeyPair;
  /**
   * Imports a public key for repeated verification.
   *
   * @throws {RangeError} unless `publicKey` has 32 bytes
   */
  ed25519PublicKey(publicKey: Uint8Array): Ed25519PublicKey;
  /** One-shot verification; false for any malformed input, never throws. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** SHA-256 of the concatenation of `parts`. */
  sha256(parts: readonly Uint8Array[]): Uint8Array;
  /** HMAC-SHA-256 under `key` of the concatenation of `parts`. */
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
  /**
   * A ChaCha20-Poly1305 instance under `key`.
   *
   * @throws {RangeError} unless `key` has 32 bytes
   */
  chacha20Poly1305(key: Uint8Array): Aead;
  /** scrypt (RFC 7914) of `password` and `salt`. */
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array>;
}

/** @internal Throws a RangeError unless `bytes` is a Uint8Array of exactly `length` bytes. */
export function assertBytes(
  bytes: unknown,
  length: number,
  what: string,
): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes`);
  }
}

/** @internal True when every byte is zero (constant time in the length). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] as number;
  return acc === 0;
}

/** @internal The total length of `parts`. */
export function totalLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += (parts[i] as Uint8Array).length;
  return n;
}
