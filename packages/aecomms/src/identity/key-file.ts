// Key files: an identity's Ed25519 seed on disk, mode 0600, optionally encrypted with a passphrase
// (scrypt → ChaCha20-Poly1305). A JSON document:
//
//   {
//     "type": "detr-identity", "version": 1, "peerId": "d…",
//     "encryption": null | { "kdf": "scrypt", "N": 32768, "r": 8, "p": 1, "salt": "<base64>",
//                            "cipher": "chacha20-poly1305", "nonce": "<base64>" },
//     "key": "<base64: the 32-byte seed, or its 48-byte ciphertext ‖ tag>",
//     "checksum": "<hex SHA-256 of the fields above>"
//   }
//
// The checksum tells a damaged file ('corrupt') from a wrong passphrase (checksum fine, decryption
// fails); the AEAD's associated data binds the peer id and every parameter. Writes are atomic
// (temporary file, fsync, rename).
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { defaultCryptoProvider } from '../crypto/default.js';
import type { CryptoProvider, ScryptParams } from '../crypto/provider.js';
import { KeyFileError } from '../errors.js';
import { createIdentity, type Identity } from './identity.js';

const TYPE = 'detr-identity';
const VERSION = 1;
const SEED_BYTES = 32;
const TAG_BYTES = 16;
const NONCE_BYTES = 12;
const SALT_BYTES = 16;
const MAX_FILE_BYTES = 64 * 1024;
/** Largest scrypt memory (128 · N · r · p bytes) a key file may ask for: 256 MiB. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

/** Default scrypt cost of new encrypted key files: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s). */
export const DEFAULT_KEY_FILE_SCRYPT = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

interface Encryption {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  cipher: 'chacha20-poly1305';
  nonce: string;
}

interface KeyFileJson {
  type: string;
  version: number;
  peerId: string;
  encryption: Encryption | null;
  key: string;
  checksum: string;
}

/** Options of {@link saveIdentity}. */
export interface SaveIdentityOptions {
  /** Encrypt the key with this passphrase (strings are NFC-normalised UTF-8). */
  passphrase?: string | Uint8Array;
  /**
   * scrypt cost for an encrypted file.
   *
   * @default { N: 32768, r: 8, p: 1 }
   */
  scrypt?: { N: number; r: number; p: number };
  /** @default defaultCryptoProvider (sodium when it loads, else node:crypto) */
  provider?: CryptoProvider;
}

/** Options of {@link loadIdentity}. */
export interface LoadIdentityOptions {
  /** The passphrase of an encrypted file. */
  passphrase?: string | Uint8Array;
  /**
   * Accept a file readable by group or others (POSIX modes).
   *
   * @default false
   */
  allowInsecurePermissions?: boolean;
  /** @default defaultCryptoProvider (sodium when it loads, else node:crypto) */
  provider?: CryptoProvider;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function passphraseBytes(p: string | Uint8Array): Uint8Array {
  return typeof p === 'string' ? new TextEncoder().encode(p.normalize('NFC')) : p;
}

/** The bytes the checksum covers and the AEAD authenticates, independent of JSON key order. */
function canonical(f: Omit<KeyFileJson, 'checksum' | 'key'>, key?: string): Uint8Array {
  const e = f.encryption;
  const fields = [
    f.type,
    f.version,
    f.peerId,
    e === null ? null : [e.kdf, e.N, e.r, e.p, e.salt, e.cipher, e.nonce],
    ...(key === undefined ? [] : [key]),
  ];
  return new TextEncoder().encode(JSON.stringify(fields));
}

function checkScrypt(N: unknown, r: unknown, p: unknown): boolean {
  return (
    Number.isInteger(N) &&
    Number.isInteger(r) &&
    Number.isInteger(p) &&
    (N as number) >= 2 &&
    ((N as number) & ((N as number) - 1)) === 0 &&
    (r as number) >= 1 &&
    (p as number) >= 1 &&
    128 * (N as number) * (r as number) * (p as number) <= MAX_SCRYPT_MEMORY
  );
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // Make the rename durable where the platform allows syncing a directory.
  try {
    const dir = await open(dirname(path), 'r');
    await dir.sync().catch(() => {});
    await dir.close();
  } catch {
    // not supported (e.g. Windows): the file itself was synced
  }
}

/**
 * Writes `identity`'s key to `path` (mode 0600, atomically), encrypted when a passphrase is given.
 *
 * @throws {RangeError} for scrypt parameters that are not a power-of-two N with 128·N·r·p ≤ 256 MiB
 * @throws {Error} from the file system (permissions, missing directory)
 * @example
 * ```ts
 * await saveIdentity('/var/lib/detr/identity.json', identity, { passphrase })
 * ```
 */
export async function saveIdentity(
  path: string,
  identity: Identity,
  options: SaveIdentityOptions = {},
): Promise<void> {
  const provider = options.provider ?? defaultCryptoProvider;
  const seed = identity.exportSeed();
  const head: Omit<KeyFileJson, 'checksum' | 'key'> = {
    type: TYPE,
    version: VERSION,
    peerId: identity.peerId.toString(),
    encryption: null,
  };
  let key: string;
  if (options.passphrase === undefined) {
    key = b64(seed);
  } else {
    const { N, r, p } = options.scrypt ?? DEFAULT_KEY_FILE_SCRYPT;
    if (!checkScrypt(N, r, p)) throw new RangeError('invalid scrypt parameters');
    const salt = provider.randomBytes(SALT_BYTES);
    const nonce = provider.randomBytes(NONCE_BYTES);
    head.encryption = {
      kdf: 'scrypt',
      N,
      r,
      p,
      salt: b64(salt),
      cipher: 'chacha20-poly1305',
      nonce: b64(nonce),
    };
    const params: ScryptParams = { N, r, p, dkLen: 32 };
    const k = await provider.scrypt(passphraseBytes(options.passphrase), salt, params);
    const sealed = provider.chacha20Poly1305(k).seal(nonce, canonical(head), [seed]);
    key = b64(Buffer.concat(sealed));
  }
  const checksum = Buffer.from(provider.sha256([canonical(head, key)])).toString('hex');
  const file: KeyFileJson = { ...head, key, checksum };
  await writeAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
}

function corrupt(why: string, cause?: unknown): KeyFileError {
  return new KeyFileError(
    'corrupt',
    `Corrupt key file: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

function decodeB64(text: unknown, length: number, what: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw corrupt(`${what} is not base64`);
  const out = new Uint8Array(Buffer.from(text, 'base64'));
  if (out.length !== length || b64(out) !== text) throw corrupt(`${what} has the wrong length`);
  return out;
}

/**
 * Reads a key file written by {@link saveIdentity}.
 *
 * @throws {KeyFileError} `reason` `'corrupt'` (damaged or not a key file), `'wrong-passphrase'`,
 * `'passphrase-required'`, `'insecure-permissions'` (group/other may read it; POSIX only),
 * `'unsupported'` (another format version or algorithm)
 * @throws {Error} from the file system (e.g. ENOENT)
 * @example
 * ```ts
 * const identity = await loadIdentity(path, { passphrase: process.env.DETR_PASSPHRASE })
 * ```
 */
export async function loadIdentity(
  path: string,
  options: LoadIdentityOptions = {},
): Promise<Identity> {
  const provider = options.provider ?? defaultCryptoProvider;
  const info = await stat(path);
  if (
    process.platform !== 'win32' &&
    (info.mode & 0o077) !== 0 &&
    options.allowInsecurePermissions !== true
  ) {
    throw new KeyFileError(
      'insecure-permissions',
      `Key file ${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600`,
    );
  }
  if (info.size > MAX_FILE_BYTES) throw corrupt('too large');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw corrupt('not JSON', err);
  }
  if (typeof parsed !== 'object' || parsed === null) throw corrupt('not an object');
  const f = parsed as Partial<KeyFileJson>;
  if (f.type !== TYPE) throw corrupt('not a detr identity');
  if (f.version !== VERSION) {
    throw new KeyFileError('unsupported', `Unsupported key file version ${String(f.version)}`);
  }
  if (typeof f.peerId !== 'string' || typeof f.key !== 'string' || typeof f.checksum !== 'string') {
    throw corrupt('missing fields');
  }
  const e = f.encryption;
  if (e !== null) {
    if (typeof e !== 'object' || e === undefined) throw corrupt('bad encryption field');
    if (e.kdf !== 'scrypt' || e.cipher !== 'chacha20-poly1305') {
      throw new KeyFileError('unsupported', 'Unsupported key file encryption');
    }
  }
  const head = { type: f.type, version: f.version, peerId: f.peerId, encryption: e };
  const expected = Buffer.from(provider.sha256([canonical(head, f.key)])).toString('hex');
  if (expected !== f.checksum) throw corrupt('checksum mismatch');

  let seed: Uint8Array;
  if (e === null) {
    seed = decodeB64(f.key, SEED_BYTES, 'key');
  } else {
    if (!checkScrypt(e.N, e.r, e.p))
      throw new KeyFileError('unsupported', 'scrypt parameters out of range');
    if (typeof e.salt !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(e.salt))
      throw corrupt('bad salt');
    const salt = Buffer.from(e.salt, 'base64');
    if (salt.length < 8 || salt.length > 64) throw corrupt('bad salt');
    const nonce = decodeB64(e.nonce, NONCE_BYTES, 'nonce');
    const sealed = decodeB64(f.key, SEED_BYTES + TAG_BYTES, 'key');
    if (options.passphrase === undefined) {
      throw new KeyFileError(
        'passphrase-required',
        'The key file is encrypted: a passphrase is required',
      );
    }
    const k = await provider.scrypt(passphraseBytes(options.passphrase), salt, {
      N: e.N,
      r: e.r,
      p: e.p,
      dkLen: 32,
    });
    const opened = provider
      .chacha20Poly1305(k)
      .open(nonce, canonical(head), [sealed.subarray(0, SEED_BYTES)], sealed.subarray(SEED_BYTES));
    if (opened === null)
      throw new KeyFileError('wrong-passphrase', 'Wrong passphrase for the key file');
    seed = opened;
  }
  const identity = createIdentity(seed, { provider });
  if (identity.peerId.toString() !== f.peerId) throw corrupt('the key does not match its peer id');
  return identity;
}

/**
 * Loads the identity at `path`, or creates a new one and saves it there if the file does not
 * exist.
 *
 * @throws {KeyFileError} as {@link loadIdentity}
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity(join(dataDir, 'identity.json'))
 * ```
 */
export async function loadOrCreateIdentity(
  path: string,
  options: LoadIdentityOptions & SaveIdentityOptions = {},
): Promise<Identity> {
  try {
    return await loadIdentity(path, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const identity = createIdentity(
    undefined,
    options.provider !== undefined ? { provider: options.provider } : {},
  );
  await saveIdentity(path, identity, options);
  return identity;
}
