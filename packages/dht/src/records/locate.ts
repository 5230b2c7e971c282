// Where a record lives in the key space. By default a key is hashed with the network id
// (`kadIdOfRecordKey`); a namespace with `placement: 'peer'` names a peer right after its prefix
// (`/<namespace>/<PeerId bytes>…`) and its records are stored at the k closest to that peer's
// own Kademlia id, so the peer (when online) is one of their holders and receives them.
import type { PeerId } from '@detr/interface';
import { aecommsPeerIds, type PeerIdCodec } from '../identity.js';
import { kadIdOfPeer, kadIdOfRecordKey } from '../keys.js';
import { namespaceOf, type RecordValidator } from './record.js';

/** Length of an aecomms PeerId's binary form (version byte + Ed25519 public key). */
export const PEER_ID_BYTES = 33;

/**
 * The peer a record key names right after its namespace (`/<namespace>/<PeerId bytes>…`), or
 * `undefined` when the bytes there are not a PeerId.
 *
 * @example
 * ```ts
 * const key = Buffer.concat([Buffer.from('/mbox/'), bob.bytes, Buffer.from([slot])])
 * recordKeyPeer(key)?.equals(bob) // true
 * ```
 */
export function recordKeyPeer(
  key: Uint8Array,
  codec: PeerIdCodec = aecommsPeerIds,
): PeerId | undefined {
  const ns = namespaceOf(key);
  if (ns === undefined) return undefined;
  const start = ns.length + 2;
  if (key.length < start + PEER_ID_BYTES) return undefined;
  try {
    return codec.fromBytes(key.subarray(start, start + PEER_ID_BYTES));
  } catch {
    return undefined;
  }
}

/** Maps a record key to the 32-byte Kademlia id it is stored at. */
export type RecordLocator = (key: Uint8Array) => Uint8Array;

/**
 * The locator of a node: peer placement for the namespaces that ask for it, the network-scoped
 * hash for every other key (and for a peer-placed key that names no peer: such a record is
 * refused by the namespace's validator anyway).
 */
export function createLocator(
  networkId: Uint8Array,
  validators: ReadonlyMap<string, RecordValidator>,
  codec: PeerIdCodec,
): RecordLocator {
  const peerPlaced = new Set<string>();
  for (const [ns, v] of validators) if (v.placement === 'peer') peerPlaced.add(ns);
  if (peerPlaced.size === 0) return (key) => kadIdOfRecordKey(networkId, key);
  return (key) => {
    const ns = namespaceOf(key);
    if (ns !== undefined && peerPlaced.has(ns)) {
      const peer = recordKeyPeer(key, codec);
      if (peer !== undefined) return kadIdOfPeer(peer);
    }
    return kadIdOfRecordKey(networkId, key);
  };
}

/**
 * Wraps the validator of a peer-placed namespace so that it also refuses keys that name no
 * peer.
 */
export function withPlacementCheck(v: RecordValidator, codec: PeerIdCodec): RecordValidator {
  if (v.placement !== 'peer') return v;
  const out: { -readonly [K in keyof RecordValidator]: RecordValidator[K] } = {
    validate: (r) => recordKeyPeer(r.key, codec) !== undefined && v.validate(r) !== false,
    placement: 'peer',
  };
  if (v.maxValueBytes !== undefined) out.maxValueBytes = v.maxValueBytes;
  const mayReplace = v.mayReplace?.bind(v);
  if (mayReplace !== undefined) out.mayReplace = mayReplace;
  return out;
}
