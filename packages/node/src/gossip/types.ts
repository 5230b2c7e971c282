// Public types and options of gossip pub/sub, and their defaults.
import type { Clock, Logger, PeerId, PeerReporter } from '@detr/interface';
import type { Identity } from '../identity.js';
import type { ConnectionManager } from '../ports.js';

/** The stream protocol of gossip pub/sub. */
export const GOSSIP_PROTOCOL = '/detr/gossip/1';

/** A validator's verdict: deliver and forward, drop quietly, or drop and penalise the sender. */
export type Verdict = 'accept' | 'ignore' | 'reject';

/** A delivered pub/sub message. */
export interface PubSubMessage {
  topic: string;
  data: Uint8Array;
  /** The publisher (signer). */
  from: PeerId;
  /** The neighbour it arrived from (us for our own). */
  via: PeerId;
  /** Hex message id. */
  id: string;
  seqno: number;
}

/**
 * Decides what happens to a message of a topic before it is delivered or forwarded. A validator
 * that throws or takes longer than `validateTimeoutMs` counts as `'ignore'`.
 */
export type TopicValidator = (msg: PubSubMessage) => Verdict | Promise<Verdict>;
/** Receives the messages of a subscribed topic (each once). */
export type TopicHandler = (msg: PubSubMessage) => void;

/** What pub/sub needs from the node. */
export interface PubSubComponents {
  connections: ConnectionManager;
  identity: Identity;
  peerIdFromBytes: (bytes: Uint8Array) => PeerId;
  /** Where penalties (and rewards for useful first deliveries) go: dpeers in the node. */
  peerReporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
  /** Random number in [0, 1) for peer selection. @default Math.random */
  random?: () => number;
}

/** Options of gossip pub/sub (GossipSub's names where they have one). */
export interface PubSubInit {
  /** Mesh degree. @default 6 */
  D?: number;
  /** Mesh lower bound: below it the heartbeat grafts up to D. @default 4 */
  Dlo?: number;
  /** Mesh upper bound: above it the heartbeat prunes down to D. @default 12 */
  Dhi?: number;
  /** Non-mesh peers sent IHAVE per topic per heartbeat. @default 6 */
  Dlazy?: number;
  /** Mesh maintenance and lazy-gossip period. @default 1000 */
  heartbeatMs?: number;
  /** Heartbeat windows kept in the message cache (served to IWANT). @default 5 */
  historyLength?: number;
  /** Windows advertised in IHAVE. @default 3 */
  historyGossip?: number;
  /** How long a message id stays in the seen-cache (deduplication). @default 120000 */
  seenTtlMs?: number;
  /** Most ids in the seen-cache (oldest forgotten first). @default 100000 */
  seenMax?: number;
  /** Most messages in the message cache. @default 10000 */
  maxCachedMessages?: number;
  /** Largest message data. @default 1048576 */
  maxDataBytes?: number;
  /** Messages accepted from one neighbour per heartbeat; excess dropped and penalised. @default 2000 */
  maxMessagesPerHeartbeat?: number;
  /** Messages of one publisher accepted per heartbeat; excess ignored (no penalty). @default 1000 */
  maxPublisherMessagesPerHeartbeat?: number;
  /** IWANT ids answered per peer per heartbeat, and ids we ask one peer for. @default 500 */
  maxIWantPerHeartbeat?: number;
  /** IHAVE messages considered per peer per heartbeat. @default 10 */
  maxIHavePerHeartbeat?: number;
  /** Ids advertised in one IHAVE. @default 5000 */
  maxIHaveLength?: number;
  /** How long a peer has to deliver a message it advertised and we asked for. @default 3000 */
  iwantFollowupMs?: number;
  /** Topics we subscribe to. @default 256 */
  maxTopics?: number;
  /** Topics a peer may subscribe to (more are ignored, the peer penalised once). @default 256 */
  maxPeerTopics?: number;
  /** Inbound gossip streams per peer (an older one is reset for a new one). @default 2 */
  maxInboundStreamsPerPeer?: number;
  /** Bytes queued for one peer (unsent) before gossip to it is dropped. @default 8388608 */
  maxQueuedBytesPerPeer?: number;
  /** Seconds a pruned peer waits before grafting again. @default 60 */
  pruneBackoffSec?: number;
  /** Peers scoring below this have their RPCs ignored. @default -40 */
  graylistThreshold?: number;
  /** A validator taking longer than this counts as `'ignore'`. @default 5000 */
  validateTimeoutMs?: number;
  /** Send our own messages to every topic peer, not only the mesh. @default true */
  floodPublish?: boolean;
}

/** Counters of one pub/sub instance. */
export interface PubSubStats {
  published: number;
  delivered: number;
  forwarded: number;
  duplicates: number;
  rejected: number;
  ignored: number;
  invalid: number;
  iwantServed: number;
  brokenPromises: number;
  dropped: number;
  grafts: number;
  prunes: number;
}

/** Gossip pub/sub. */
export interface PubSub {
  start(): void;
  stop(): void;
  /**
   * Calls `handler` with every message of `topic`; returns the unsubscribe function.
   *
   * @throws {TypeError} for a topic outside 1–256 bytes
   * @throws {RangeError} past `maxTopics`
   */
  subscribe(topic: string, handler: TopicHandler): () => void;
  /**
   * Signs and sends a message to the topic's peers (and delivers it to our own subscribers).
   *
   * @throws {TypeError} for a bad topic or data; {RangeError} for data over `maxDataBytes`
   */
  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }>;
  setValidator(topic: string, validator: TopicValidator | undefined): void;
  /** Mesh peers of `topic` (text form). */
  mesh(topic: string): string[];
  /** Peers known to subscribe to `topic`. */
  topicPeers(topic: string): string[];
  /** `peer`'s score on `topic`, or its lowest topic score. */
  score(peer: PeerId, topic?: string): number;
  stats(): PubSubStats;
}

export type PubSubOptions = Required<PubSubInit>;

/**
 * Fills in defaults and checks the options.
 *
 * @throws {RangeError} unless Dlo ≤ D ≤ Dhi, and for non-positive limits
 */
export function resolvePubSubInit(init: PubSubInit): PubSubOptions {
  const o: PubSubOptions = {
    D: 6,
    Dlo: 4,
    Dhi: 12,
    Dlazy: 6,
    heartbeatMs: 1000,
    historyLength: 5,
    historyGossip: 3,
    seenTtlMs: 120_000,
    seenMax: 100_000,
    maxCachedMessages: 10_000,
    maxDataBytes: 1024 * 1024,
    maxMessagesPerHeartbeat: 2000,
    maxPublisherMessagesPerHeartbeat: 1000,
    maxIWantPerHeartbeat: 500,
    maxIHavePerHeartbeat: 10,
    maxIHaveLength: 5000,
    iwantFollowupMs: 3000,
    maxTopics: 256,
    maxPeerTopics: 256,
    maxInboundStreamsPerPeer: 2,
    maxQueuedBytesPerPeer: 8 * 1024 * 1024,
    pruneBackoffSec: 60,
    graylistThreshold: -40,
    validateTimeoutMs: 5000,
    floodPublish: true,
  };
  for (const [k, v] of Object.entries(init)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (!(o.Dlo <= o.D && o.D <= o.Dhi && o.Dlo >= 0)) {
    throw new RangeError('gossip degrees must satisfy 0 ≤ Dlo ≤ D ≤ Dhi');
  }
  if (o.historyGossip > o.historyLength) {
    throw new RangeError('historyGossip must not exceed historyLength');
  }
  for (const k of [
    'heartbeatMs',
    'historyLength',
    'seenTtlMs',
    'seenMax',
    'maxCachedMessages',
    'maxDataBytes',
    'maxMessagesPerHeartbeat',
    'maxPublisherMessagesPerHeartbeat',
    'maxTopics',
    'maxPeerTopics',
    'maxInboundStreamsPerPeer',
    'maxQueuedBytesPerPeer',
    'validateTimeoutMs',
  ] as const) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) throw new RangeError(`gossip ${k} must be > 0`);
  }
  return o;
}
