import type {
  AbortOptions,
  Address,
  Clock,
  Logger,
  PeerId,
  PeerReporter,
  Rng,
  Startable,
} from '@detr/interface';
import type { Store } from '@detr/stored';
import type { DhtStats } from './context.js';
import type { DhtEvents, DhtListener } from './events.js';
import type { DhtRecordView } from './records/record.js';
import type { DhtSigner, PeerIdCodec, SignatureVerifier } from './identity.js';
import type { DhtPeerSource } from './maintenance/bootstrap.js';
import type { LookupStats } from './query/lookup.js';
import type { DhtNetwork } from './rpc/network.js';

/** Injected dependencies of {@link createDht}. */
export interface DhtComponents {
  /** This node's identity (an aecomms `Identity`): records and presence are signed with it. */
  signer: DhtSigner;
  /** Carries the RPCs: `createStreamNetwork` (detr transport) or a simulator endpoint. */
  network: DhtNetwork;
  /** Where held records and the routing table snapshot live (started by its owner). */
  store: Store;
  /** Parses PeerIds from the wire. @default aecommsPeerIds */
  peerIds?: PeerIdCodec;
  /** Checks record signatures. @default createEd25519Verifier() (aecomms' node:crypto provider) */
  verifier?: SignatureVerifier;
  /** Told about misbehaving peers (`@detr/dpeers`). @default noopPeerReporter */
  reporter?: PeerReporter;
  /** Previously known peers to bootstrap from on restart (`@detr/dpeers`). */
  peerSource?: DhtPeerSource;
  /**
   * Peers not to talk to (`@detr/dpeers` fits): a banned peer is never sent a request nor
   * (re-)added to the routing table. @default nobody is banned
   */
  bans?: DhtBanList;
  /** @default systemClock */
  clock?: Clock;
  /** Randomness for refresh ids and jitter. @default cryptoRng */
  rng?: Rng;
  /** @default noopLogger */
  logger?: Logger;
}

/** Who is banned (see {@link DhtComponents.bans}). */
export interface DhtBanList {
  isBanned(peer: PeerId): boolean;
}

/** Options of {@link Dht.put}. */
export interface PutOptions extends AbortOptions {
  /** Sequence number. @default max(now in ms, last published seq + 1) */
  seq?: number;
  /** Time to live. @default `defaultTtlSec` */
  ttlSec?: number;
  /** Republish it before it expires, for as long as this node runs. @default true */
  republish?: boolean;
}

/** What {@link Dht.put} achieved. */
export interface PutResult {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly expiresAtMs: number;
  /** Nodes that hold it now (this one included when it is among the k closest). */
  readonly replicas: number;
  readonly lookup: LookupStats;
}

/** Options of the lookups. */
export interface LookupOptions extends AbortOptions {
  /** Receives the lookup's counters (requests, failures, hops), found or not. */
  onLookup?: (stats: LookupStats) => void;
}

/** Options of {@link Dht.get}. */
export interface GetOptions extends LookupOptions {
  /** Stop once this many peers answered with a valid record. @default `getQuorum` */
  quorum?: number;
  /**
   * Resolve `undefined` for a tombstone (the empty value {@link Dht.delete} publishes) instead
   * of the tombstone itself. @default false
   */
  hideDeleted?: boolean;
}

/** Options of {@link Dht.delete}. */
export interface DeleteOptions extends AbortOptions {
  /** Sequence number of the tombstone. @default max(now in ms, highest seq found + 1) */
  seq?: number;
  /**
   * Time to live of the tombstone. @default the longer of `defaultTtlSec` and what the newest
   * version found has left (at most `maxTtlSec`)
   */
  ttlSec?: number;
}

/** Options of {@link Dht.held}. */
export interface HeldOptions {
  /** Only keys that start with these bytes. @default every key */
  prefix?: Uint8Array;
  /** At most this many records. @default no limit */
  limit?: number;
}

/** A record found by {@link Dht.get}. */
export interface DhtValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly seq: number;
  /** Ed25519 public key of the publisher. */
  readonly publisher: Uint8Array;
  readonly expiresAtMs: number;
  /** Peers that answered with a valid record (this node's copy counts as one). */
  readonly holders: number;
  readonly lookup: LookupStats;
}

/** Options of {@link Dht.announce}. */
export interface AnnounceOptions extends AbortOptions {
  /** Addresses to publish. @default the network's listen addresses (re-read at each refresh) */
  addresses?: readonly Address[];
  /** Relay addresses to publish (from `@detr/nat`). @default [] */
  relayAddresses?: readonly Address[];
}

/** Where a peer says it can be reached (its presence record). */
export interface PeerPresence {
  readonly peer: PeerId;
  readonly addresses: readonly Address[];
  readonly relayAddresses: readonly Address[];
  readonly seq: number;
  readonly expiresAtMs: number;
  readonly lookup: LookupStats;
}

/** Options of {@link Dht.findPeer}. */
export interface FindPeerOptions extends LookupOptions {
  /** Stop once this many peers answered with a presence record. @default 2 */
  quorum?: number;
}

/** Options of {@link Dht.findClosestPeers}. */
export interface FindClosestOptions extends LookupOptions {
  /** End the lookup as soon as this peer answers (a lookup for one node). */
  until?: PeerId;
}

/** A peer and its addresses. */
export interface DhtPeer {
  readonly peer: PeerId;
  readonly addresses: readonly Address[];
}

/** The result of {@link Dht.findClosestPeers}. */
export interface ClosestPeers {
  /** Up to k peers that answered, closest first. */
  readonly peers: readonly DhtPeer[];
  /** With `until`: whether that peer answered. */
  readonly found: boolean;
  readonly lookup: LookupStats;
}

/**
 * A network-scoped Kademlia DHT node with signed records and presence.
 */
export interface Dht extends Startable {
  readonly peerId: PeerId;
  readonly networkId: Uint8Array;
  /** The stream protocol it speaks: `/detr/<network id hex>/dht/1`. */
  readonly protocol: string;
  /**
   * Loads held records and starts answering, bootstrapping in the background (with retry).
   *
   * @throws {NotStartedError} when the store is not started
   */
  start(): Promise<void>;
  /** Withdraws the presence record (bounded), stops timers and answering. Idempotent. */
  stop(): Promise<void>;
  /**
   * One bootstrap round now; resolves to the routing table's size.
   *
   * @throws {NotStartedError} when stopped
   */
  bootstrap(options?: AbortOptions): Promise<number>;
  /**
   * Signs `value` under `key` and stores it at the k closest nodes.
   *
   * @throws {InvalidRecordError} for a key without a validator, a value too large, a TTL too long,
   *   or (`stale-seq`) when every holder has a higher seq
   * @throws {DhtNoPeersError} when no node stored it
   * @throws {AbortError} when `signal` aborts or the DHT stops
   */
  put(key: Uint8Array, value: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /**
   * The valid record with the highest seq found under `key` (a lower one when the namespace's
   * `mayReplace` refuses the higher one), or `undefined`. A tombstone left by
   * {@link Dht.delete} is an empty value (`undefined` with `hideDeleted`).
   *
   * @throws {AbortError} when `signal` aborts or the DHT stops
   */
  get(key: Uint8Array, options?: GetOptions): Promise<DhtValue | undefined>;
  /**
   * Deletes `key` network-wide: publishes a tombstone (an empty value, signed by this node, with
   * a seq above the highest found) to the k closest, and stops republishing this node's record.
   * Any party the namespace's validator accepts as a publisher of the key (and its
   * `mayReplace`, when set) may delete: for `/m/` only the owner, for a custom namespace e.g. a
   * mailbox's owner as well as the writer.
   *
   * @throws {InvalidRecordError} when the namespace refuses this node as a publisher
   *   (`validator`) or as a replacement (`replace-refused`), or peers hold a higher seq
   *   (`stale-seq`, with an explicit `seq`)
   * @throws {DhtNoPeersError} when no node stored the tombstone
   * @throws {AbortError} when `signal` aborts or the DHT stops
   */
  delete(key: Uint8Array, options?: DeleteOptions): Promise<PutResult>;
  /**
   * The records this node holds now (as one of their k closest), optionally under a key
   * prefix, without any network request: e.g. a node's own mailbox records in a namespace of
   * `placement: 'peer'`.
   */
  held(options?: HeldOptions): DhtRecordView[];
  /**
   * Subscribes to an event (`record:stored`, `record:self`); returns the unsubscribe function.
   *
   * @throws {TypeError} for an unknown event
   */
  on<E extends keyof DhtEvents>(event: E, listener: DhtListener<E>): () => void;
  /** The key of this node's mutable record `name` (`/m/<public key><name>`). */
  key(name?: string | Uint8Array): Uint8Array;
  /**
   * Publishes this node's presence record now and every `presenceRefreshMs` until `stop()`.
   *
   * @throws {DhtNoPeersError} when no node stored it
   */
  announce(options?: AnnounceOptions): Promise<void>;
  /**
   * Resolves `peer`'s presence record; `undefined` when absent or withdrawn.
   *
   * @throws {AbortError} when `signal` aborts or the DHT stops
   */
  findPeer(peer: PeerId, options?: FindPeerOptions): Promise<PeerPresence | undefined>;
  /**
   * The k closest peers to a 32-byte Kademlia id.
   *
   * @throws {RangeError} when `id` is not 32 bytes
   */
  findClosestPeers(id: Uint8Array, options?: FindClosestOptions): Promise<ClosestPeers>;
  /** The routing table's peers. */
  peers(): DhtPeer[];
  stats(): DhtStats;
}
