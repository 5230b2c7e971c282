// The stored form of every record: a 14-byte header, then the value bytes.
//
//   offset  size  field
//   0       4     CRC-32 of key ‖ bytes 4..end, unsigned big-endian
//   4       1     format version (1)
//   5       1     flags (0; reserved)
//   6       8     expiresAtMs, unsigned big-endian (0 = never expires)
//   14      n     value
//
// The checksum covers the key, so a record that moved to the wrong key is caught too; it comes
// first so that what it covers is one contiguous range.
import { crc32 } from 'node:zlib';

export const RECORD_VERSION = 1;
export const HEADER_BYTES = 14;
/** Largest expiry accepted (keeps the u64 exact in a double). */
export const MAX_EXPIRY_MS = Number.MAX_SAFE_INTEGER;

/** Builds the stored bytes of a record. */
export function encodeRecord(
  key: Uint8Array,
  value: Uint8Array,
  expiresAtMs: number | undefined,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + value.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[4] = RECORD_VERSION;
  out[5] = 0;
  const exp = expiresAtMs ?? 0;
  view.setUint32(6, Math.floor(exp / 2 ** 32));
  view.setUint32(10, exp >>> 0);
  out.set(value, HEADER_BYTES);
  view.setUint32(0, crc32(out.subarray(4), crc32(key)));
  return out;
}

/** A decoded record: `value` is a view into the stored bytes. */
export interface RawRecord {
  value: Uint8Array;
  expiresAtMs: number | undefined;
}

/**
 * Checks and splits stored bytes. Returns a string naming the problem when the record is
 * damaged, so the caller can raise its typed error with context.
 */
export function decodeRecord(key: Uint8Array, stored: Uint8Array): RawRecord | string {
  if (stored.length < HEADER_BYTES)
    return `record shorter than its header (${stored.length} bytes)`;
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  if (view.getUint32(0) !== crc32(stored.subarray(4), crc32(key)))
    return 'record checksum mismatch';
  if (stored[4] !== RECORD_VERSION) return `unknown record version ${stored[4]}`;
  const exp = view.getUint32(6) * 2 ** 32 + view.getUint32(10);
  return { value: stored.subarray(HEADER_BYTES), expiresAtMs: exp === 0 ? undefined : exp };
}

/** Reads only the expiry of stored bytes (no checksum check; used on the write path). */
export function recordExpiry(stored: Uint8Array): number | undefined {
  if (stored.length < HEADER_BYTES) return undefined;
  const s = stored;
  const hi =
    (((s[6] as number) << 24) |
      ((s[7] as number) << 16) |
      ((s[8] as number) << 8) |
      (s[9] as number)) >>>
    0;
  const lo =
    (((s[10] as number) << 24) |
      ((s[11] as number) << 16) |
      ((s[12] as number) << 8) |
      (s[13] as number)) >>>
    0;
  const exp = hi * 2 ** 32 + lo;
  return exp === 0 ? undefined : exp;
}

/**
 * Key of the expiry index: expiresAtMs (8 bytes BE) ‖ namespace name length (1) ‖ name ‖ key.
 * Index entries sort by expiry, so a sweep reads only what is due.
 */
export function expiryIndexKey(expiresAtMs: number, ns: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + ns.length + key.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(expiresAtMs / 2 ** 32));
  view.setUint32(4, expiresAtMs >>> 0);
  out[8] = ns.length;
  out.set(ns, 9);
  out.set(key, 9 + ns.length);
  return out;
}

/** The upper bound (exclusive) of index keys due at or before `nowMs`. */
export function expiryIndexUntil(nowMs: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  const t = nowMs + 1;
  view.setUint32(0, Math.floor(t / 2 ** 32));
  view.setUint32(4, t >>> 0);
  return out;
}

/** Splits an index key; `undefined` if malformed. */
export function parseExpiryIndexKey(
  k: Uint8Array,
): { expiresAtMs: number; ns: string; key: Uint8Array } | undefined {
  if (k.length < 10) return undefined;
  const view = new DataView(k.buffer, k.byteOffset, k.byteLength);
  const nsLen = k[8] as number;
  if (k.length < 9 + nsLen + 1) return undefined;
  return {
    expiresAtMs: view.getUint32(0) * 2 ** 32 + view.getUint32(4),
    ns: Buffer.from(k.buffer, k.byteOffset + 9, nsLen).toString('latin1'),
    key: k.subarray(9 + nsLen),
  };
}
