// The node's identity: an Ed25519 key pair and its PeerId. `@detr/aecomms` owns identities; until
// its API lands this module provides the same shape on node:crypto (see README, "Interim parts").
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import type { PeerId } from '@detr/interface';

const ED_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const ED_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const VERSION = 0x01;
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const i = B32.indexOf(ch);
    if (i < 0) return undefined;
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

const checksum = (bytes: Uint8Array): Uint8Array =>
  createHash('sha256').update(bytes).digest().subarray(0, 4);

class EdPeerId implements PeerId {
  readonly type = 'Ed25519' as const;
  readonly publicKey: Uint8Array;
  readonly bytes: Uint8Array;
  private readonly text: string;
  constructor(publicKey: Uint8Array) {
    this.publicKey = Uint8Array.from(publicKey);
    this.bytes = new Uint8Array(33);
    this.bytes[0] = VERSION;
    this.bytes.set(this.publicKey, 1);
    const check = checksum(this.bytes);
    this.text = 'd' + base32(Buffer.concat([this.bytes, check]));
  }
  toString(): string {
    return this.text;
  }
  equals(other: PeerId): boolean {
    return Buffer.compare(this.bytes, other.bytes) === 0;
  }
}

/**
 * The PeerId of an Ed25519 public key.
 *
 * @throws {TypeError} unless `publicKey` has 32 bytes
 * @example
 * ```ts
 * const id = peerIdFromPublicKey(key)
 * ```
 */
export function peerIdFromPublicKey(publicKey: Uint8Array): PeerId {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new TypeError('an Ed25519 public key has 32 bytes');
  }
  return new EdPeerId(publicKey);
}

/**
 * Parses a PeerId's binary form (version byte + 32-byte key).
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * const from = peerIdFromBytes(msg.from)
 * ```
 */
export function peerIdFromBytes(bytes: Uint8Array): PeerId {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 33 || bytes[0] !== VERSION) {
    throw new TypeError('not a PeerId');
  }
  return new EdPeerId(bytes.subarray(1));
}

/**
 * Parses a PeerId's text form; the checksum must match.
 *
 * @throws {TypeError} for malformed text or a bad checksum
 * @example
 * ```ts
 * const peer = peerIdFromString(argv.peer)
 * ```
 */
export function peerIdFromString(text: string): PeerId {
  if (typeof text !== 'string' || !/^d[a-z2-7]{59}$/.test(text)) {
    throw new TypeError(`not a PeerId: ${JSON.stringify(String(text).slice(0, 80))}`);
  }
  const raw = unbase32(text.slice(1));
  if (raw === undefined || raw.length !== 37) throw new TypeError('not a PeerId');
  const bytes = raw.subarray(0, 33);
  if (Buffer.compare(checksum(bytes), raw.subarray(33)) !== 0) {
    throw new TypeError('PeerId checksum mismatch');
  }
  return peerIdFromBytes(bytes);
}

/** A key pair and what it can do. The private key never leaves this object. */
export interface Identity {
  readonly peerId: PeerId;
  /** Ed25519 signature of `data`. */
  sign(data: Uint8Array): Uint8Array;
  /** The 32-byte private seed (for sealing it into the key store). */
  exportSeed(): Uint8Array;
}

function fromKey(priv: KeyObject): Identity {
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const peerId = peerIdFromPublicKey(new Uint8Array(spki.subarray(ED_SPKI.length)));
  return {
    peerId,
    sign: (data) => new Uint8Array(edSign(null, data, priv)),
    exportSeed: () => {
      const der = priv.export({ format: 'der', type: 'pkcs8' });
      return new Uint8Array(der.subarray(ED_PKCS8.length));
    },
  };
}

/**
 * A new random identity (or the one of a 32-byte seed).
 *
 * @throws {TypeError} for a seed that is not 32 bytes
 * @example
 * ```ts
 * const identity = createIdentity()
 * ```
 */
export function createIdentity(seed?: Uint8Array): Identity {
  if (seed === undefined) return fromKey(generateKeyPairSync('ed25519').privateKey);
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new TypeError('an Ed25519 seed has 32 bytes');
  }
  return fromKey(
    createPrivateKey({ key: Buffer.concat([ED_PKCS8, seed]), format: 'der', type: 'pkcs8' }),
  );
}

/**
 * Verifies an Ed25519 signature; false for any malformed input.
 *
 * @example
 * ```ts
 * if (!verifySignature(envelope.signer, data, envelope.signature)) reject()
 * ```
 */
export function verifySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED_SPKI, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return edVerify(null, data, key, signature);
  } catch {
    return false;
  }
}

const PREFIX = new TextEncoder().encode('detr-signed-envelope:');

/**
 * The bytes a SignedEnvelope's signature covers: a domain prefix, the payload type, the body.
 *
 * @example
 * ```ts
 * const signature = identity.sign(envelopeSigningBytes(65, body))
 * ```
 */
export function envelopeSigningBytes(payloadType: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX.length + 4 + body.length);
  out.set(PREFIX, 0);
  new DataView(out.buffer).setUint32(PREFIX.length, payloadType);
  out.set(body, PREFIX.length + 4);
  return out;
}
