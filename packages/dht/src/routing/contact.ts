// The entries of the routing table and their wire forms.
import type { Address, PeerId } from '@detr/interface';
import type { PeerInfo } from '@detr/protocol';
import { compareDistance, distance48 } from '../keys.js';
import { isLoopback, subnetOf } from './subnet.js';

/** One peer of the routing table. */
export interface Contact {
  /** Kademlia id (SHA-256 of the public key). */
  readonly id: Uint8Array;
  /** k-bucket's arbiter field (unused: updates bypass k-bucket's arbiter); always 0. */
  readonly vectorClock: number;
  readonly peer: PeerId;
  /** Where it can be reached (advertised in FIND_NODE answers). */
  addresses: readonly Address[];
  /** The same addresses in text form (what goes on the wire). */
  addressText: readonly string[];
  /** The wire entry of this contact (FIND_NODE answers). */
  info: PeerInfo;
  /** Diversity group, or `undefined` when exempt. */
  readonly subnet: string | undefined;
  /** When it last answered one of our requests. */
  lastSeenMs: number;
}

/** `contacts` ordered by XOR distance to `id`, closest first. */
export function sortByDistance(contacts: readonly Contact[], id: Uint8Array): Contact[] {
  const keyed = contacts.map((c) => ({ c, d: distance48(c.id, id) }));
  keyed.sort((a, b) => (a.d !== b.d ? a.d - b.d : compareDistance(a.c.id, b.c.id, id)));
  return keyed.map((x) => x.c);
}

const infos = new WeakMap<readonly string[], PeerInfo>();

/** The wire entry of a peer, shared by every contact with the same address array. */
export function infoOf(peer: PeerId, text: readonly string[]): PeerInfo {
  const hit = infos.get(text);
  if (hit !== undefined && hit.peer === peer.bytes) return hit;
  const info = { peer: peer.bytes, addresses: text as string[] };
  infos.set(text, info);
  return info;
}

const groups = new WeakMap<Address, { loopback: boolean; subnet: string }>();

/** Whether an address is loopback, and its diversity group (cached per address object). */
export function groupOf(address: Address): { loopback: boolean; subnet: string } {
  let g = groups.get(address);
  if (g === undefined) {
    g = { loopback: isLoopback(address), subnet: subnetOf(address) };
    groups.set(address, g);
  }
  return g;
}
