// The built-in key namespaces:
// - `/m/<publisher public key, 32 bytes><name>`: a mutable record owned by one key (only that
//   key can publish it, a higher seq replaces a lower one);
// - `/presence/<PeerId bytes>`: where a peer can be reached, published by that peer only; its
//   value is an encoded `Presence` whose peer, network and seq match the record's.
import { Presence } from '@detr/protocol';
import type { PeerIdCodec } from '../identity.js';
import { bytesEqual } from '../keys.js';
import type { RecordValidator } from './record.js';

const MUTABLE_PREFIX = Buffer.from('/m/', 'latin1');
const PRESENCE_PREFIX = Buffer.from('/presence/', 'latin1');

/** Largest `name` of a mutable key (the key is at most 256 bytes). */
export const MAX_MUTABLE_NAME_BYTES = 256 - MUTABLE_PREFIX.length - 32;

/**
 * The key of the mutable record `name` owned by `publicKey`.
 *
 * @throws {RangeError} if `publicKey` is not 32 bytes or `name` is longer than 221 bytes
 * @example
 * ```ts
 * const key = mutableKey(peerId.publicKey, 'profile')
 * await dht.put(key, value)
 * ```
 */
export function mutableKey(publicKey: Uint8Array, name: Uint8Array | string = ''): Uint8Array {
  const n = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  if (publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes');
  if (n.length > MAX_MUTABLE_NAME_BYTES)
    throw new RangeError(`name must be at most ${MAX_MUTABLE_NAME_BYTES} bytes`);
  const key = new Uint8Array(MUTABLE_PREFIX.length + 32 + n.length);
  key.set(MUTABLE_PREFIX, 0);
  key.set(publicKey, MUTABLE_PREFIX.length);
  key.set(n, MUTABLE_PREFIX.length + 32);
  return key;
}

/**
 * The key of `peer`'s presence record.
 *
 * @example
 * ```ts
 * presenceKey(peerId.bytes)
 * ```
 */
export function presenceKey(peerBytes: Uint8Array): Uint8Array {
  const key = new Uint8Array(PRESENCE_PREFIX.length + peerBytes.length);
  key.set(PRESENCE_PREFIX, 0);
  key.set(peerBytes, PRESENCE_PREFIX.length);
  return key;
}

/**
 * Validator of `/m/`: the key names the publisher's public key.
 *
 * @example
 * ```ts
 * createDht(components, { networkId, validators: { mine: mutableValidator } }) // `/mine/<key>…`
 * ```
 */
export const mutableValidator: RecordValidator = {
  validate(record) {
    const k = record.key;
    if (k.length < MUTABLE_PREFIX.length + 32) return false;
    return bytesEqual(
      k.subarray(MUTABLE_PREFIX.length, MUTABLE_PREFIX.length + 32),
      record.publisher,
    );
  },
};

/**
 * Validator of `/presence/`: the key's peer is the publisher, and the value is a `Presence` of
 * that peer, network and seq.
 *
 * @example
 * ```ts
 * const validators = new Map([['presence', presenceValidator(aecommsPeerIds)]])
 * ```
 */
export function presenceValidator(peerIds: PeerIdCodec): RecordValidator {
  return {
    maxValueBytes: 4096,
    validate(record) {
      const peerBytes = record.key.subarray(PRESENCE_PREFIX.length);
      const peer = peerIds.fromBytes(peerBytes);
      if (!bytesEqual(peer.publicKey, record.publisher)) return false;
      const p = Presence.decode(record.value);
      return (
        bytesEqual(p.peer, peerBytes) &&
        bytesEqual(p.networkId, record.networkId) &&
        p.seq === record.seq
      );
    },
  };
}
