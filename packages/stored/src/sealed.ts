// Sealed envelopes: how secrets (private keys, passphrase-protected material) are stored.
//
//   offset  size  field
//   0       4     magic "DSE1" (detr sealed envelope, version 1)
//   4       1     kdf: 1 = scrypt over a passphrase, 2 = caller-supplied 32-byte key
//   5       1     scrypt log2(N) (0 for kdf 2)
//   6       1     scrypt r       (0 for kdf 2)
//   7       1     scrypt p       (0 for kdf 2)
//   8       16    salt
//   24      12    nonce
//   36      n+16  ChaCha20-Poly1305 ciphertext and tag; additional data = bytes 0..35
//
// The `keys` namespace refuses any value that does not parse as this layout (UnsealedSecretError).
// That check is structural: it stops a raw key from being written by mistake; it cannot prove the
// ciphertext is one. The store never sees the passphrase or the plaintext.
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { SecretOpenError } from './errors.js';

const MAGIC = [0x44, 0x53, 0x45, 0x31] as const;
const HEADER = 36;
const TAG = 16;
export const KDF_SCRYPT = 1;
export const KDF_RAW_KEY = 2;

/** How to derive the sealing key. */
export type SealingSecret =
  | { passphrase: string }
  /** A 32-byte key held elsewhere (an OS keychain, a hardware token). */
  | { key: Uint8Array };

/** scrypt cost; the defaults take ≈100 ms and 32 MiB. */
export interface SealOptions {
  /** log2 of scrypt's N, 10–20. @default 15 */
  log2N?: number;
  /** @default 8 */
  r?: number;
  /** @default 1 */
  p?: number;
}

function deriveKey(
  secret: SealingSecret,
  salt: Uint8Array,
  log2N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  if ('key' in secret) {
    if (!(secret.key instanceof Uint8Array) || secret.key.length !== 32) {
      return Promise.reject(new RangeError('A sealing key must be 32 bytes'));
    }
    return Promise.resolve(Buffer.from(secret.key));
  }
  if (typeof secret.passphrase !== 'string' || secret.passphrase.length === 0) {
    return Promise.reject(new TypeError('A passphrase must be a non-empty string'));
  }
  const N = 2 ** log2N;
  return new Promise((resolve, reject) => {
    scrypt(
      secret.passphrase.normalize('NFKC'),
      salt,
      32,
      { N, r, p, maxmem: 256 * N * r },
      (err, key) => (err === null ? resolve(key) : reject(err)),
    );
  });
}

/** Parsed header of an envelope, or a reason it is not one. */
export function parseEnvelope(
  bytes: Uint8Array,
): { kdf: number; log2N: number; r: number; p: number } | string {
  if (!(bytes instanceof Uint8Array)) return 'not bytes';
  if (bytes.length < HEADER + TAG) return 'too short for a sealed envelope';
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) return 'missing the "DSE1" magic';
  const kdf = bytes[4] as number;
  const log2N = bytes[5] as number;
  const r = bytes[6] as number;
  const p = bytes[7] as number;
  if (kdf === KDF_SCRYPT) {
    if (log2N < 10 || log2N > 20 || r < 1 || r > 32 || p < 1 || p > 16) {
      return 'scrypt parameters out of range';
    }
  } else if (kdf === KDF_RAW_KEY) {
    if (log2N !== 0 || r !== 0 || p !== 0) return 'raw-key envelope with kdf parameters';
  } else return `unknown kdf ${kdf}`;
  return { kdf, log2N, r, p };
}

/**
 * True when `bytes` has the sealed envelope layout.
 *
 * @example
 * ```ts
 * isSealedEnvelope(await sealSecret(key, { passphrase })) // true
 * ```
 */
export function isSealedEnvelope(bytes: Uint8Array): boolean {
  return typeof parseEnvelope(bytes) !== 'string';
}

/**
 * Encrypts `plaintext` into a sealed envelope (scrypt + ChaCha20-Poly1305, or a raw 32-byte key).
 *
 * @throws {TypeError} for an empty passphrase
 * @throws {RangeError} for a key that is not 32 bytes or scrypt parameters out of range
 * @example
 * ```ts
 * const envelope = await sealSecret(privateKey, { passphrase })
 * await store.namespace('keys').put('identity', envelope)
 * ```
 */
export async function sealSecret(
  plaintext: Uint8Array,
  secret: SealingSecret,
  options: SealOptions = {},
): Promise<Uint8Array> {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
  const raw = 'key' in secret;
  const log2N = raw ? 0 : (options.log2N ?? 15);
  const r = raw ? 0 : (options.r ?? 8);
  const p = raw ? 0 : (options.p ?? 1);
  if (!raw && (log2N < 10 || log2N > 20 || r < 1 || r > 32 || p < 1 || p > 16)) {
    throw new RangeError('scrypt parameters out of range (log2N 10–20, r 1–32, p 1–16)');
  }
  const header = new Uint8Array(HEADER);
  header.set(MAGIC, 0);
  header[4] = raw ? KDF_RAW_KEY : KDF_SCRYPT;
  header[5] = log2N;
  header[6] = r;
  header[7] = p;
  header.set(randomBytes(16), 8);
  header.set(randomBytes(12), 24);
  const key = await deriveKey(secret, header.subarray(8, 24), log2N, r, p);
  const cipher = createCipheriv('chacha20-poly1305', key, header.subarray(24, 36), {
    authTagLength: TAG,
  });
  cipher.setAAD(header, { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  const out = new Uint8Array(HEADER + body.length);
  out.set(header, 0);
  out.set(body, HEADER);
  return out;
}

/**
 * Decrypts a sealed envelope.
 *
 * @throws {SecretOpenError} for a wrong passphrase/key or a damaged envelope (one error for all)
 * @example
 * ```ts
 * const privateKey = await openSecret(store.namespace('keys').get('identity')!, { passphrase })
 * ```
 */
export async function openSecret(envelope: Uint8Array, secret: SealingSecret): Promise<Uint8Array> {
  const head = parseEnvelope(envelope);
  if (typeof head === 'string') throw new SecretOpenError();
  if ((head.kdf === KDF_RAW_KEY) !== 'key' in secret) throw new SecretOpenError();
  let key: Buffer;
  try {
    key = await deriveKey(secret, envelope.subarray(8, 24), head.log2N, head.r, head.p);
  } catch {
    throw new SecretOpenError();
  }
  try {
    const body = envelope.subarray(HEADER, envelope.length - TAG);
    const decipher = createDecipheriv('chacha20-poly1305', key, envelope.subarray(24, 36), {
      authTagLength: TAG,
    });
    decipher.setAAD(envelope.subarray(0, HEADER), { plaintextLength: body.length });
    decipher.setAuthTag(envelope.subarray(envelope.length - TAG));
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    throw new SecretOpenError();
  } finally {
    key.fill(0);
  }
}
