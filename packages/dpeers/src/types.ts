import type {
  Address,
  Clock,
  Connection,
  ConnectionGate,
  ConnectionTracker,
  Logger,
  PeerId,
  PeerReporter,
  PenaltyReason,
  Startable,
} from '@detr/interface';
import type { Store } from '@detr/stored';

/** Where an address was learned. */
export type AddressSource =
  'bootstrap' | 'dht' | 'mdns' | 'identify' | 'peer-exchange' | 'inbound' | 'manual';

/** One known address of a peer. */
export interface AddressInfo {
  readonly address: Address;
  readonly source: AddressSource;
  readonly addedAtMs: number;
  /** Last time a connection through it succeeded. */
  readonly lastSuccessMs: number | undefined;
  readonly lastFailureMs: number | undefined;
  /** Failures since the last success. */
  readonly failures: number;
}

/** What the registry knows about a peer. */
export interface PeerInfo {
  readonly peer: PeerId;
  /** Best first: recent success, then fewer failures, then newest. */
  readonly addresses: readonly AddressInfo[];
  readonly protocols: readonly string[];
  /** Smoothed round trip (EWMA), if measured. */
  readonly latencyMs: number | undefined;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number | undefined;
  /** Reputation now (decayed), in [-100, 100]; 0 is neutral. */
  readonly score: number;
  readonly bannedUntilMs: number | undefined;
  /** Bans so far (each one lasts twice as long as the one before). */
  readonly banCount: number;
  /** Open connections to it now. */
  readonly connections: number;
  /** Tags protecting its connections from pruning. */
  readonly protectedBy: readonly string[];
}

/** Penalty per reason, in score points (before `weight`). */
export type PenaltyTable = Record<PenaltyReason, number>;

/** Why the gate refused something; counted in {@link DpeersStats}. */
export type RefusalReason =
  | 'banned'
  | 'unauthorized'
  | 'inbound-limit'
  | 'outbound-limit'
  | 'ip-limit'
  | 'subnet-limit'
  | 'full';

export interface DpeersStats {
  knownPeers: number;
  bannedPeers: number;
  connections: { inbound: number; outbound: number; total: number };
  refused: Record<RefusalReason, number>;
  pruned: number;
  /** Connections closed because their peer was banned or left the authorized set. */
  cut: number;
  evicted: number;
  penalties: number;
  rewards: number;
  bans: number;
}

/** Events, with their payload. */
export interface DpeersEvents {
  'peer:banned': { peer: PeerId; untilMs: number; reason: string };
  'peer:unbanned': { peer: PeerId };
  'connection:pruned': { connection: Connection };
  'connection:cut': { connection: Connection; reason: 'banned' | 'unauthorized' };
}

/** Options; every one has a default (see the README's table). */
export interface DpeersInit {
  /** Most open connections; over it the lowest-value ones are pruned. @default 100 */
  maxConnections?: number;
  /** Most inbound connections; more are refused at the socket. @default 64 */
  maxInboundConnections?: number;
  /** Most outbound connections; more dials are refused. @default 64 */
  maxOutboundConnections?: number;
  /** Most connections from one IP address. @default 4 */
  maxConnectionsPerIp?: number;
  /** Most connections from one IPv4 /24 or IPv6 /48. @default 16 */
  maxConnectionsPerSubnet?: number;
  /** Apply the IP and subnet limits to loopback addresses too (off so local testnets work). @default false */
  limitLoopback?: boolean;
  /** Most peers the registry remembers; the least useful are evicted. @default 5000 */
  maxKnownPeers?: number;
  /** Most addresses kept per peer; the worst are dropped. @default 16 */
  maxAddressesPerPeer?: number;
  /** A peer whose score falls to -banThreshold or below is banned. @default 50 */
  banThreshold?: number;
  /** First ban's length; each later ban of the same peer lasts twice as long. @default 600000 (10 min) */
  banBaseMs?: number;
  /** Longest ban. @default 86400000 (24 h) */
  banMaxMs?: number;
  /** After this long without a ban, a peer's ban count starts again from zero. @default 604800000 (7 days) */
  banCountResetMs?: number;
  /** Half-life of the score's decay toward 0. @default 600000 (10 min) */
  scoreHalfLifeMs?: number;
  /** Points per penalty reason (merged over the defaults). */
  penalties?: Partial<PenaltyTable>;
  /** Points per reward (× weight). @default 1 */
  rewardPoints?: number;
  /** How many authorized sets (most recent epochs) count at once. @default 1 */
  trackedAuthorizedSets?: number;
  /** How often changed registry entries are written to the store. @default 5000 */
  persistIntervalMs?: number;
  /** Grace given to a pruned connection's graceful close. @default 5000 */
  pruneCloseTimeoutMs?: number;
}

/** Injected dependencies. */
export interface DpeersComponents {
  /** Where the registry and bans persist (namespace `peers`); in memory only when absent. */
  store?: Store;
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
  /**
   * Parses the text form of a PeerId (for entries loaded from the store).
   * @default peerIdFromString from `@detr/aecomms`
   */
  peerIdFromString?: (text: string) => PeerId;
}

/**
 * Peers, reputation, admission and authorized sets. It is the node's `PeerReporter` (give it to
 * every component that judges peers), the transport's `ConnectionGate` and `ConnectionTracker`.
 */
export interface Dpeers extends PeerReporter, ConnectionGate, ConnectionTracker, Startable {
  // Registry
  /** Adds addresses of `peer` (creating its entry). Addresses naming another peer are ignored. */
  addAddresses(peer: PeerId, addresses: readonly Address[], source: AddressSource): void;
  /** A connection through `address` succeeded (also marks the peer seen). */
  addressSucceeded(peer: PeerId, address: Address): void;
  addressFailed(peer: PeerId, address: Address): void;
  setProtocols(peer: PeerId, protocols: readonly string[]): void;
  /** A measured round trip; smoothed. */
  recordLatency(peer: PeerId, rttMs: number): void;
  markSeen(peer: PeerId): void;
  get(peer: PeerId): PeerInfo | undefined;
  /** Every known peer (snapshot). */
  peers(): PeerInfo[];
  /** Forgets a peer (not its ban). */
  remove(peer: PeerId): void;

  // Reputation
  /** Score now, in [-100, 100]. */
  score(peer: PeerId): number;
  isBanned(peer: PeerId): boolean;
  /** Bans `peer` now (cutting its connections); the length grows with each ban unless given. */
  ban(peer: PeerId, options?: { durationMs?: number; reason?: string }): void;
  unban(peer: PeerId): void;

  // Connections
  /** Protects `peer`'s connections from pruning under `tag` (e.g. 'dht-closest', 'relay'). */
  protect(peer: PeerId, tag: string): void;
  unprotect(peer: PeerId, tag: string): void;
  isProtected(peer: PeerId): boolean;
  /** Prunes the lowest-value connections down to `maxConnections`; returns how many. */
  prune(): number;

  // Authorized sets
  /**
   * From now on only `peers` (and those of the previous `trackedAuthorizedSets - 1` epochs) may
   * connect; open connections to others are cut at once. The same epoch replaces its set.
   *
   * @throws {RangeError} if `epoch` is older than the latest set's
   */
  setAuthorized(epoch: number, peers: readonly PeerId[]): void;
  /** Back to open admission. */
  clearAuthorized(): void;
  /** True when no authorized set is active or `peer` is in one. */
  isAuthorized(peer: PeerId): boolean;

  on<E extends keyof DpeersEvents>(event: E, listener: (e: DpeersEvents[E]) => void): () => void;
  stats(): DpeersStats;
  /** Writes changed entries to the store now. */
  flush(): Promise<void>;
}
