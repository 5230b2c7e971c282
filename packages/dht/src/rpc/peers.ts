// Parsing of peer entries from the wire, with bounded caches: a busy node (or a simulation of
// thousands) sees the same peers and address strings over and over.
import { parseAddress, type Address, type PeerId } from '@detr/interface';
import type { PeerInfo } from '@detr/protocol';
import type { PeerIdCodec } from '../identity.js';
import { bytesKey } from '../keys.js';

const MAX_CACHE = 100_000;
const addressCache = new Map<string, Address | null>();
const peerCaches = new WeakMap<PeerIdCodec, Map<string, PeerId | null>>();
const byObject = new WeakMap<Uint8Array, { codec: PeerIdCodec; peer: PeerId }>();

/** The parsed address, or `undefined` when `text` is not a valid address. */
export function parseAddressCached(text: string): Address | undefined {
  let a = addressCache.get(text);
  if (a === undefined) {
    try {
      a = parseAddress(text);
    } catch {
      a = null;
    }
    if (addressCache.size >= MAX_CACHE) addressCache.clear();
    addressCache.set(text, a);
  }
  return a ?? undefined;
}

/** The PeerId of `bytes`, or `undefined` when they are not a valid PeerId. */
export function parsePeerCached(codec: PeerIdCodec, bytes: Uint8Array): PeerId | undefined {
  // The same bytes object again (in-process networks hand out the sender's own arrays).
  const same = byObject.get(bytes);
  if (same !== undefined && same.codec === codec) return same.peer;
  let cache = peerCaches.get(codec);
  if (cache === undefined) {
    cache = new Map();
    peerCaches.set(codec, cache);
  }
  const k = bytesKey(bytes);
  let p = cache.get(k);
  if (p === undefined) {
    try {
      p = codec.fromBytes(bytes);
    } catch {
      p = null;
    }
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(k, p);
  }
  if (p !== null) byObject.set(bytes, { codec, peer: p });
  return p ?? undefined;
}

/** A peer entry as the DHT uses it. */
export interface ParsedPeer {
  readonly peer: PeerId;
  readonly addresses: readonly Address[];
  readonly addressText: readonly string[];
}

/**
 * Parses `closerPeers` of a response. Returns `undefined` when an entry names no valid PeerId
 * (the whole response is then invalid); entries without a valid address are skipped, and so is
 * each invalid address.
 */
export function parsePeerInfos(
  codec: PeerIdCodec,
  infos: readonly PeerInfo[],
  max: number,
): ParsedPeer[] | undefined {
  const out: ParsedPeer[] = [];
  for (let i = 0; i < infos.length && i < max; i++) {
    const info = infos[i] as PeerInfo;
    const peer = parsePeerCached(codec, info.peer);
    if (peer === undefined) return undefined;
    const addresses = parseAddressList(info.addresses);
    if (addresses.length === 0) continue;
    out.push({
      peer,
      addresses,
      addressText:
        addresses.length === info.addresses.length ? info.addresses : addresses.map(String),
    });
  }
  return out;
}

const listCache = new WeakMap<readonly string[], readonly Address[]>();

/**
 * Parses address strings, dropping invalid ones. The result is shared by every caller that
 * passes the same array object: never mutate it.
 */
export function parseAddressList(texts: readonly string[]): readonly Address[] {
  const hit = listCache.get(texts);
  if (hit !== undefined) return hit;
  const out: Address[] = [];
  for (const t of texts) {
    const a = parseAddressCached(t);
    if (a !== undefined) out.push(a);
  }
  listCache.set(texts, out);
  return out;
}
