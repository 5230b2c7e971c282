// The routing table: `k-bucket`'s binary tree of buckets, with the rules detr adds on top:
// - only peers that answered one of our requests enter it (`confirm`);
// - IP diversity: at most `maxPerSubnetPerBucket` peers of one /24 (IPv6 /48) in a bucket and
//   `maxPerSubnet` in the table (loopback exempt unless configured);
// - a full bucket keeps its old peers unless a liveness check (ping) of its least recently seen
//   ones fails: only then does the newcomer replace the dead;
// - peers that misbehave or stop answering are removed (`remove`).
import KBucket from 'k-bucket';
import type { Address, Clock, PeerId } from '@detr/interface';
import { bytesEqual, commonPrefixLength, distance48, ID_BITS, kadIdOfPeer } from '../keys.js';
import { infoOf, type Contact } from './contact.js';
import { SubnetLimits, type IpDiversityInit } from './diversity.js';
import { closestIn, depthOf, leafOf, type Leaf } from './tree.js';

export type { Contact } from './contact.js';
export type { IpDiversityInit } from './diversity.js';

/** Why {@link RoutingTable.confirm} did not add a peer. */
export type ConfirmResult =
  | 'added'
  | 'updated'
  | 'self'
  | 'no-address'
  | 'subnet-bucket'
  | 'subnet-table'
  | 'bucket-full'
  | 'checking';

export interface RoutingTableOptions {
  selfId: Uint8Array;
  k: number;
  /** How many of a full bucket's least recently seen peers are checked before evicting. */
  pingCount: number;
  /** A peer seen more recently than this is not checked (it is taken to be alive). */
  livenessCheckAfterMs: number;
  diversity: Required<IpDiversityInit> | false;
  clock: Clock;
  /** Pings a contact; resolves true when it answered. Must not reject. */
  ping: (contact: Contact) => Promise<boolean>;
  onAdded?: (contact: Contact) => void;
  onRemoved?: (contact: Contact, reason: string) => void;
}

/** Counters of the table's decisions. */
export interface RoutingTableStats {
  size: number;
  added: number;
  removed: number;
  refusedSubnet: number;
  refusedFull: number;
  evicted: number;
  livenessChecks: number;
}

export class RoutingTable {
  readonly #kb: KBucket<Contact>;
  readonly #o: RoutingTableOptions;
  readonly #subnets: SubnetLimits;
  readonly #checking = new WeakSet<object>();
  readonly #removeReasons = new WeakMap<Contact, string>();
  readonly stats: RoutingTableStats = {
    size: 0,
    added: 0,
    removed: 0,
    refusedSubnet: 0,
    refusedFull: 0,
    evicted: 0,
    livenessChecks: 0,
  };
  #pendingEvictionCandidate: Contact | undefined;
  #closed = false;

  constructor(options: RoutingTableOptions) {
    this.#o = options;
    this.#subnets = new SubnetLimits(options.diversity);
    this.#kb = new KBucket<Contact>({
      localNodeId: options.selfId,
      numberOfNodesPerKBucket: options.k,
      numberOfNodesToPing: options.pingCount,
      distance: distance48,
    });
    this.#kb.on('added', (c: Contact) => {
      this.#subnets.added(c);
      this.stats.added++;
      this.stats.size++;
      options.onAdded?.(c);
    });
    this.#kb.on('removed', (c: Contact) => {
      this.#subnets.removed(c);
      this.stats.removed++;
      this.stats.size--;
      options.onRemoved?.(c, this.#removeReasons.get(c) ?? 'removed');
    });
    this.#kb.on('ping', (old: Contact[], candidate: Contact) => {
      if (this.#livenessCheck(old, candidate)) this.#pendingEvictionCandidate = candidate;
    });
  }

  get size(): number {
    return this.stats.size;
  }

  /** The contact of `peer`, if present. */
  get(peer: PeerId): Contact | undefined {
    return this.#kb.get(kadIdOfPeer(peer)) ?? undefined;
  }

  /** The contact with Kademlia id `id`, if present. */
  getById(id: Uint8Array): Contact | undefined {
    return this.#kb.get(id) ?? undefined;
  }

  /** Up to `n` contacts closest to `id`, closest first. */
  closest(id: Uint8Array, n: number): Contact[] {
    if (this.stats.size === 0 || n <= 0) return [];
    return closestIn(this.#root, id, n);
  }

  /** Every contact. */
  contacts(): Contact[] {
    return this.#kb.toArray();
  }

  /**
   * `peer` answered one of our requests through `observed` (the connection's remote address);
   * `addresses` are where others can reach it. Adds it (subject to the diversity limits and to
   * room in its bucket) or refreshes it.
   */
  confirm(
    peer: PeerId,
    addresses: readonly Address[],
    observed: Address | undefined,
    addressText?: readonly string[],
  ): ConfirmResult {
    if (this.#closed) return 'checking';
    const id = kadIdOfPeer(peer);
    if (commonPrefixLength(id, this.#o.selfId) === ID_BITS) return 'self';
    const now = this.#o.clock.now();
    const leaf = this.#leafOf(id);
    const bucket = leaf.contacts as Contact[];
    let index = -1;
    for (let i = bucket.length - 1; i >= 0; i--) {
      if (bytesEqual((bucket[i] as Contact).id, id)) {
        index = i;
        break;
      }
    }
    if (index !== -1) {
      const existing = bucket[index] as Contact;
      existing.lastSeenMs = now;
      if (addresses.length > 0 && existing.addresses !== addresses) {
        existing.addresses = addresses;
        existing.addressText = addressText ?? addresses.map(String);
        existing.info = infoOf(peer, existing.addressText);
      }
      // Most recently seen goes to the tail of its bucket (k-bucket's order).
      if (index !== bucket.length - 1) {
        bucket.splice(index, 1);
        bucket.push(existing);
      }
      return 'updated';
    }
    if (addresses.length === 0) return 'no-address';
    const subnetAddress = observed ?? addresses[0];
    const subnet = subnetAddress === undefined ? undefined : this.#subnets.groupOf(subnetAddress);
    const text = addressText ?? addresses.map(String);
    const contact: Contact = {
      id,
      vectorClock: 0,
      peer,
      addresses,
      addressText: text,
      info: infoOf(peer, text),
      subnet,
      lastSeenMs: now,
    };
    return this.#admit(contact);
  }

  #admit(contact: Contact): ConfirmResult {
    const { subnet, id } = contact;
    const refused = this.#subnets.refusal(subnet, this.#leafOf(id).contacts ?? []);
    if (refused !== undefined) {
      this.stats.refusedSubnet++;
      return refused;
    }
    this.#pendingEvictionCandidate = undefined;
    this.#kb.add(contact);
    if (this.#kb.get(id) === contact) return 'added';
    return this.#pendingEvictionCandidate === contact ? 'checking' : 'bucket-full';
  }

  /**
   * True when `peer`, reached through `address`, could enter the table now: its diversity group
   * is under the limits, and its bucket has room, can split, or has a peer due for a liveness
   * check.
   */
  hasRoomFor(peer: PeerId, address: Address | undefined): boolean {
    const id = kadIdOfPeer(peer);
    if (this.#kb.get(id) !== null) return true;
    const subnet = address === undefined ? undefined : this.#subnets.groupOf(address);
    const leaf = this.#leafOf(id);
    const contacts = leaf.contacts ?? [];
    if (this.#subnets.refusal(subnet, contacts) !== undefined) return false;
    if (contacts.length < this.#o.k || !leaf.dontSplit) return true;
    if (this.#checking.has(leaf)) return false;
    const now = this.#o.clock.now();
    for (let i = 0; i < this.#o.pingCount && i < contacts.length; i++) {
      if (now - (contacts[i] as Contact).lastSeenMs >= this.#o.livenessCheckAfterMs) return true;
    }
    return false;
  }

  /** Removes `peer` (it failed, misbehaved or left). */
  remove(peer: PeerId, reason = 'removed'): boolean {
    const id = kadIdOfPeer(peer);
    const c = this.#kb.get(id);
    if (c === null) return false;
    this.#removeReasons.set(c, reason);
    this.#kb.remove(id);
    return true;
  }

  /**
   * Common prefix lengths (with our id) of the buckets worth refreshing: 0 up to the deepest
   * split of the tree.
   */
  bucketPrefixLengths(): number[] {
    const depth = depthOf(this.#root, this.#o.selfId);
    return Array.from({ length: Math.max(1, depth) }, (_, i) => i);
  }

  /** While inactive (the DHT is stopped) the table ignores confirmations and check results. */
  setActive(active: boolean): void {
    this.#closed = !active;
  }

  get #root(): Leaf {
    return this.#kb.root as unknown as Leaf;
  }

  #leafOf(id: Uint8Array): Leaf {
    return leafOf(this.#root, id);
  }

  #livenessCheck(old: Contact[], candidate: Contact): boolean {
    const leaf = this.#leafOf(candidate.id);
    if (this.#checking.has(leaf)) {
      this.stats.refusedFull++;
      return false;
    }
    const now = this.#o.clock.now();
    const stale = old.filter((c) => now - c.lastSeenMs >= this.#o.livenessCheckAfterMs);
    if (stale.length === 0) {
      this.stats.refusedFull++;
      return false;
    }
    this.#checking.add(leaf);
    this.stats.livenessChecks++;
    void Promise.all(stale.map(async (c) => [c, await this.#o.ping(c)] as const)).then(
      (results) => {
        this.#checking.delete(leaf);
        if (this.#closed) return;
        let evicted = false;
        for (const [c, alive] of results) {
          if (alive) continue;
          evicted = true;
          if (this.#kb.get(c.id) === c) {
            this.#removeReasons.set(c, 'unresponsive');
            this.#kb.remove(c.id);
            this.stats.evicted++;
          }
        }
        if (evicted && this.#kb.get(candidate.id) === null) {
          const now2 = this.#o.clock.now();
          this.#admit({ ...candidate, lastSeenMs: now2 });
        } else if (!evicted) this.stats.refusedFull++;
      },
    );
    return true;
  }
}
