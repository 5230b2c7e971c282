import type { KeyLike } from './types.js';

/** Largest key, in bytes. lmdb's limit is 1,978 bytes; the expiry index adds a prefix. */
export const MAX_KEY_BYTES = 1024;

const utf8 = new TextEncoder();

/**
 * The bytes of a key.
 *
 * @throws {TypeError} if `key` is neither a string nor a Uint8Array
 * @throws {RangeError} if it is empty or longer than {@link MAX_KEY_BYTES}
 */
export function keyBytes(key: KeyLike): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === 'string') bytes = utf8.encode(key);
  else if (key instanceof Uint8Array) bytes = key;
  else throw new TypeError('A key must be a string or a Uint8Array');
  if (bytes.length === 0) throw new RangeError('A key must not be empty');
  if (bytes.length > MAX_KEY_BYTES) {
    throw new RangeError(`A key must be at most ${MAX_KEY_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Like {@link keyBytes} but allows the empty key (for scan bounds and prefixes). */
export function boundBytes(key: KeyLike): Uint8Array {
  if (typeof key === 'string') return utf8.encode(key);
  if (key instanceof Uint8Array) return key;
  throw new TypeError('A scan bound must be a string or a Uint8Array');
}

/** Byte-wise comparison, shorter first on a common prefix (lmdb's default order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * The smallest key greater than every key starting with `prefix`, or `undefined` when there is
 * none (empty prefix, or all 0xff).
 *
 * @example
 * ```ts
 * prefixEnd(new Uint8Array([0x61, 0xff])) // Uint8Array [0x62]
 * ```
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = prefix.slice(0, end);
  out[end - 1] = (out[end - 1] as number) + 1;
  return out;
}

/** A scan's effective bounds: `gte` inclusive, `lt` exclusive, either may be absent. */
export interface Bounds {
  gte: Uint8Array | undefined;
  lt: Uint8Array | undefined;
}

/** Intersects a prefix with explicit bounds. */
export function scanBounds(options: { prefix?: KeyLike; gte?: KeyLike; lt?: KeyLike }): Bounds {
  let gte = options.gte === undefined ? undefined : boundBytes(options.gte);
  let lt = options.lt === undefined ? undefined : boundBytes(options.lt);
  if (options.prefix !== undefined) {
    const p = boundBytes(options.prefix);
    if (p.length > 0) {
      if (gte === undefined || compareBytes(p, gte) > 0) gte = p;
      const end = prefixEnd(p);
      if (end !== undefined && (lt === undefined || compareBytes(end, lt) < 0)) lt = end;
    }
  }
  if (gte !== undefined && gte.length === 0) gte = undefined;
  return { gte, lt };
}

/** True when `key` lies within `bounds`. */
export function inBounds(key: Uint8Array, bounds: Bounds): boolean {
  if (bounds.gte !== undefined && compareBytes(key, bounds.gte) < 0) return false;
  if (bounds.lt !== undefined && compareBytes(key, bounds.lt) >= 0) return false;
  return true;
}
