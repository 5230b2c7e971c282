import type { Codec } from './types.js';

/**
 * Raw bytes, copied in both directions so neither side can change the other's buffer. The
 * default codec; the DHT stores records this way (already protobuf-encoded and signed).
 *
 * @example
 * ```ts
 * const records = store.namespace('dht-records', bytesCodec)
 * ```
 */
export const bytesCodec: Codec<Uint8Array> = {
  name: 'bytes',
  encode: (v) => {
    if (!(v instanceof Uint8Array)) throw new TypeError('bytesCodec encodes Uint8Array values');
    return v;
  },
  decode: (b) => new Uint8Array(b),
};

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * UTF-8 text.
 *
 * @example
 * ```ts
 * const notes = store.namespace('networks', stringCodec)
 * ```
 */
export const stringCodec: Codec<string> = {
  name: 'string',
  encode: (v) => {
    if (typeof v !== 'string') throw new TypeError('stringCodec encodes strings');
    return utf8.encode(v);
  },
  decode: (b) => utf8Strict.decode(b),
};

/**
 * JSON as UTF-8, for small structured entries (dpeers' peer entries and bans). `validate`, if
 * given, checks decoded values (throw to reject), so a hand-edited or older entry is caught at
 * read time rather than deep in the caller.
 *
 * @example
 * ```ts
 * const peers = store.namespace('peers', jsonCodec<PeerEntry>('peer-entry', isPeerEntry))
 * ```
 */
export function jsonCodec<V>(name = 'json', validate?: (value: unknown) => V): Codec<V> {
  return {
    name,
    encode: (v) => utf8.encode(JSON.stringify(v)),
    decode: (b) => {
      const parsed: unknown = JSON.parse(utf8Strict.decode(b));
      return validate === undefined ? (parsed as V) : validate(parsed);
    },
  };
}
