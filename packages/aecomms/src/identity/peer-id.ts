// PeerId: the identity of a peer, derived from its Ed25519 public key.
//
// Binary form (33 bytes, carried on the wire):  0x01 (version 1 = Ed25519) ‖ public key (32)
// Text form (61 characters):  "d" ‖ base32(binary ‖ SHA-256(binary)[0..4])
//   base32 is RFC 4648's alphabet in lower case, without padding; the 4 unused trailing bits must
//   be zero, so each PeerId has exactly one text form and `peerIdFromString(id.toString())`
//   round-trips exactly. The checksum catches typos; the version byte makes the form
//   self-describing and leaves room for other key types.
import { createHash } from 'node:crypto';
import type { PeerId } from '@detr/interface';
import { InvalidPeerIdError } from '../errors.js';

/** Version byte of an Ed25519 PeerId's binary form. */
export const PEER_ID_VERSION_ED25519 = 0x01;
/** Length of a PeerId's binary form. */
export const PEER_ID_BYTES = 33;
/** Length of a PeerId's text form. */
export const PEER_ID_TEXT_LENGTH = 61;
/** First character of every PeerId's text form. */
export const PEER_ID_TEXT_PREFIX = 'd';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const CHECKSUM_BYTES = 4;
const ENCODED_BYTES = PEER_ID_BYTES + CHECKSUM_BYTES; // 37 bytes → 60 characters, 4 spare bits

function checksum(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest().subarray(0, CHECKSUM_BYTES);
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = ((value << 8) | (bytes[i] as number)) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Strict base32 decoding: `undefined` for a foreign character or non-zero trailing bits. */
function unbase32(text: string, start: number, byteLength: number): Uint8Array | undefined {
  const out = new Uint8Array(byteLength);
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? (DECODE[c] as number) : -1;
    if (d < 0) return undefined;
    value = ((value << 5) | d) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o >= byteLength) return undefined;
      out[o++] = (value >>> bits) & 0xff;
    }
  }
  if (o !== byteLength || (value & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

class Ed25519PeerId implements PeerId {
  readonly type = 'Ed25519' as const;
  readonly bytes: Uint8Array;
  readonly publicKey: Uint8Array;
  private text: string | undefined;

  /** `bytes` is owned by the new object (callers pass a fresh copy). */
  constructor(bytes: Uint8Array, text?: string) {
    this.bytes = bytes;
    this.publicKey = bytes.subarray(1);
    this.text = text;
  }

  toString(): string {
    if (this.text === undefined) {
      const all = new Uint8Array(ENCODED_BYTES);
      all.set(this.bytes, 0);
      all.set(checksum(this.bytes), PEER_ID_BYTES);
      this.text = PEER_ID_TEXT_PREFIX + base32(all);
    }
    return this.text;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: PeerId): boolean {
    if ((other as unknown) === this) return true;
    const b = (other as PeerId | undefined)?.bytes;
    if (!(b instanceof Uint8Array) || b.length !== PEER_ID_BYTES) return false;
    for (let i = 0; i < PEER_ID_BYTES; i++) if (b[i] !== this.bytes[i]) return false;
    return true;
  }
}

/**
 * The PeerId of an Ed25519 public key.
 *
 * @throws {InvalidPeerIdError} unless `publicKey` is a Uint8Array of 32 bytes
 * @example
 * ```ts
 * const peer = peerIdFromPublicKey(handshakePayload.identityKey)
 * peer.toString() // 'da…' (61 characters)
 * ```
 */
export function peerIdFromPublicKey(publicKey: Uint8Array): PeerId {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new InvalidPeerIdError('an Ed25519 public key has 32 bytes');
  }
  const bytes = new Uint8Array(PEER_ID_BYTES);
  bytes[0] = PEER_ID_VERSION_ED25519;
  bytes.set(publicKey, 1);
  return new Ed25519PeerId(bytes);
}

/**
 * Parses a PeerId's binary form (33 bytes: version 0x01, then the Ed25519 public key). The input
 * is copied.
 *
 * @throws {InvalidPeerIdError} for any other length or version
 * @example
 * ```ts
 * const from = peerIdFromBytes(token.peer)
 * ```
 */
export function peerIdFromBytes(bytes: Uint8Array): PeerId {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PEER_ID_BYTES) {
    throw new InvalidPeerIdError(`the binary form has ${PEER_ID_BYTES} bytes`);
  }
  if (bytes[0] !== PEER_ID_VERSION_ED25519) {
    throw new InvalidPeerIdError('unknown version byte');
  }
  return new Ed25519PeerId(Uint8Array.from(bytes));
}

/**
 * Parses a PeerId's text form: `d` followed by 60 lower-case base32 characters encoding the
 * binary form and a 4-byte checksum. Strict: upper case, padding, whitespace, a non-canonical
 * last character or a wrong checksum are all rejected, so a parsed id's `toString()` equals the
 * input.
 *
 * @throws {InvalidPeerIdError} for anything that is not a valid PeerId text
 * @example
 * ```ts
 * const peer = peerIdFromString('daaq…')
 * peer.equals(peerIdFromBytes(peer.bytes)) // true
 * ```
 */
export function peerIdFromString(text: string): PeerId {
  if (typeof text !== 'string') throw new InvalidPeerIdError('not a string');
  if (text.length !== PEER_ID_TEXT_LENGTH || !text.startsWith(PEER_ID_TEXT_PREFIX)) {
    throw new InvalidPeerIdError(
      `expected "${PEER_ID_TEXT_PREFIX}" and 60 base32 characters, got ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  const all = unbase32(text, 1, ENCODED_BYTES);
  if (all === undefined) throw new InvalidPeerIdError('not canonical lower-case base32');
  const bytes = all.slice(0, PEER_ID_BYTES);
  if (bytes[0] !== PEER_ID_VERSION_ED25519) throw new InvalidPeerIdError('unknown version byte');
  const expected = checksum(bytes);
  for (let i = 0; i < CHECKSUM_BYTES; i++) {
    if (all[PEER_ID_BYTES + i] !== expected[i]) throw new InvalidPeerIdError('checksum mismatch');
  }
  return new Ed25519PeerId(bytes, text);
}
