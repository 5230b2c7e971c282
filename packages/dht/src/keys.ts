// The Kademlia key space: 256-bit ids (SHA-256), XOR distance, common prefix lengths, and the
// mapping from peers and record keys to ids.
import { createHash } from 'node:crypto';
import type { PeerId, Rng } from '@detr/interface';

/** Length of every Kademlia id, in bytes (SHA-256). */
export const ID_BYTES = 32;
/** Length of every Kademlia id, in bits. */
export const ID_BITS = ID_BYTES * 8;

const RECORD_KEY_DOMAIN = Buffer.from('detr/dht/record-key/v1\0', 'latin1');

const peerIds = new WeakMap<PeerId, Uint8Array>();

/** SHA-256 of `data`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * The Kademlia id of a peer: SHA-256 of its Ed25519 public key (cached per `PeerId` object).
 *
 * @example
 * ```ts
 * const id = kadIdOfPeer(peerId) // 32 bytes
 * ```
 */
export function kadIdOfPeer(peer: PeerId): Uint8Array {
  let id = peerIds.get(peer);
  if (id === undefined) {
    id = sha256(peer.publicKey);
    peerIds.set(peer, id);
  }
  return id;
}

/**
 * The Kademlia id a record key is stored at: SHA-256 over a domain tag, the network id and the
 * key, so the same key lands at unrelated points in two networks.
 *
 * @example
 * ```ts
 * const target = kadIdOfRecordKey(networkId, key)
 * ```
 */
export function kadIdOfRecordKey(networkId: Uint8Array, key: Uint8Array): Uint8Array {
  return sha256(RECORD_KEY_DOMAIN, networkId, key);
}

/** XOR of two ids of the same length. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/**
 * Compares the XOR distances of `a` and `b` to `target`: negative when `a` is closer, positive
 * when `b` is closer, 0 when they are equal.
 */
export function compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const t = target[i] as number;
    const da = ((a[i] as number) ^ t) >>> 0;
    const db = ((b[i] as number) ^ t) >>> 0;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Compares two byte strings as big-endian unsigned numbers (for precomputed distances). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * The top 48 bits of the XOR distance as a number: exact, and enough to order peers in any
 * network smaller than 2^40 nodes (ties are broken with {@link compareDistance}).
 */
export function distance48(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < 6; i++) d = d * 256 + (((a[i] as number) ^ (b[i] as number)) >>> 0);
  return d;
}

/** Number of leading bits `a` and `b` share (256 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = ((a[i] as number) ^ (b[i] as number)) & 0xff;
    if (x !== 0) return i * 8 + (Math.clz32(x) - 24);
  }
  return a.length * 8;
}

/**
 * A random id sharing exactly `cpl` leading bits with `self` (the bit after them flipped), used
 * to refresh the bucket of peers at that prefix length.
 *
 * @throws {RangeError} if `cpl` is outside 0..255
 */
export function randomIdAtPrefix(self: Uint8Array, cpl: number, rng: Rng): Uint8Array {
  if (!Number.isInteger(cpl) || cpl < 0 || cpl >= self.length * 8)
    throw new RangeError('cpl out of range');
  const out = rng.bytes(self.length);
  const fullBytes = cpl >> 3;
  for (let i = 0; i < fullBytes; i++) out[i] = self[i] as number;
  const bit = cpl & 7;
  const byte = fullBytes;
  const keepMask = (0xff << (8 - bit)) & 0xff; // the `bit` leading bits of this byte
  const flip = 0x80 >> bit;
  const s = self[byte] as number;
  let v = (s & keepMask) | ((out[byte] as number) & ~keepMask & 0xff);
  v = (v & ~flip) | (~s & flip);
  out[byte] = v & 0xff;
  return out;
}

/** Hex text of bytes (for map keys and logs). */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A compact map key for bytes (one UTF-16 unit per byte). */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** True when both byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
