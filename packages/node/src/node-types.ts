// The public shape of a node: what createNode takes and returns.
import type { AbortOptions, Address, Clock, Logger, PeerId } from '@detr/interface';
import type { Identity } from '@detr/aecomms';
import type { Store } from '@detr/stored';
import type { Scheduler } from '@detr/fluent';
import type { Dpeers } from '@detr/dpeers';
import type { Dht } from '@detr/dht';
import type { NatStatus } from '@detr/nat';
import type { ConnectionManager } from '@detr/transport';
import type { ConfigInput, NodeConfig } from './config/config.js';
import type { MessageHandler, Messaging, SendOptions, SendResult } from './messaging.js';
import type { RequestOptions, ServiceHandler, Services } from './services.js';
import type { PubSub, TopicHandler, TopicValidator } from './gossip/pubsub.js';
import type { OfflineStats } from './offline/mailbox.js';
import type { MdnsFactory } from './mdns.js';
import type { Network, Revocations } from './networks.js';

/** Events of a node, with their payload. */
export interface NodeEvents {
  'peer:connect': { peer: PeerId; address: string };
  'peer:disconnect': { peer: PeerId };
  'peer:discovered': { peer: PeerId; addresses: string[]; source: string };
  'peer:lost': { peer: PeerId };
  'revocations:update': { seq: number };
}

/** Injected parts (tests). Absent ones are built from the config. */
export interface NodeComponents {
  /** @default a new identity */
  identity?: Identity;
  /** @default a memory store (lost at stop) */
  store?: Store;
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
  /** multicast-dns replacement (tests). */
  mdnsFactory?: MdnsFactory;
}

/** What a node is created with. */
export interface NodeInit {
  config?: NodeConfig | ConfigInput;
  /** The network the node belongs to. */
  network?: Network;
  /** This node's token for the network (base64url envelope). */
  token?: string;
  /** Latest revocation list (base64url envelope). */
  revocations?: string;
  /** Admin key of the network, when this node is an admin (issues and revokes tokens). */
  admin?: Identity;
}

/** Counters and state of a node (`detr status`). */
export interface NodeStatus {
  peerId: string;
  addresses: string[];
  network: string | undefined;
  connections: number;
  outbox: Record<string, number>;
  messaging: ReturnType<Messaging['stats']>;
  services: ReturnType<Services['stats']>;
  pubsub: ReturnType<PubSub['stats']>;
  offline: OfflineStats;
  dht: ReturnType<Dht['stats']>;
  nat: NatStatus | undefined;
  relay: {
    reservations: number;
    circuitsOpen: number;
    circuitsOpened: number;
    bytesRelayed: number;
  };
  revocationSeq: number;
  /** Handshakes refused: remote tokens that failed, failed QUIC hellos, our own refused dials. */
  handshakeFailures: number;
  dhtLookups: number;
  uptimeMs: number;
}

/** The composed node. */
export interface DetrNode {
  readonly peerId: PeerId;
  readonly identity: Identity;
  readonly config: NodeConfig;
  /** @detr/transport's connection manager (every connection authenticated, token-checked). */
  readonly connections: ConnectionManager;
  readonly dpeers: Dpeers;
  readonly scheduler: Scheduler;
  readonly pubsub: PubSub;
  /** NAT status (type, AutoNAT reachability, relay addresses); `undefined` without nat. */
  readonly nat: { readonly status: NatStatus } | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  addresses(): string[];
  // messaging
  send(peer: PeerId, channel: string, data: Uint8Array, options?: SendOptions): Promise<SendResult>;
  onMessage(channel: string, handler: MessageHandler): () => void;
  // pub/sub
  subscribe(topic: string, handler: TopicHandler): () => void;
  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }>;
  /** Seed 000's broadcast: publish on `topic`. */
  broadcast(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }>;
  setTopicValidator(topic: string, validator: TopicValidator | undefined): void;
  // services
  handle(service: string, handler: ServiceHandler): void;
  request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  // connectivity
  connect(target: PeerId | Address | string, options?: AbortOptions): Promise<PeerId>;
  /** Publishes our presence (addresses and relay addresses) in the DHT now. */
  announce(options?: AbortOptions): Promise<void>;
  /** Where `peer` says it is (addresses, then relay addresses), or `undefined`. */
  findPeer(peer: PeerId, options?: AbortOptions): Promise<string[] | undefined>;
  readonly dht: {
    /** Stores under `/kv/<key>` (or `key` itself when it names a namespace: `/m/…`). */
    put(
      key: Uint8Array,
      value: Uint8Array,
      options?: { ttlSec?: number } & AbortOptions,
    ): Promise<void>;
    get(key: Uint8Array, options?: AbortOptions): Promise<Uint8Array | undefined>;
    /** The @detr/dht instance itself. */
    readonly kad: Dht;
  };
  /** Fetches offline messages now (also done after the first connection and every minute). */
  fetchOffline(options?: AbortOptions): Promise<number>;
  // networks
  readonly network: Network | undefined;
  issueToken(peer: PeerId, options?: { ttlMs?: number }): { token: string; tokenId: string };
  revokeTokens(tokenIds: readonly string[]): Promise<Revocations>;
  /** The revocation list in force. */
  readonly revocationList: Revocations | undefined;
  peers(): Array<{
    peer: string;
    address: string;
    direction: string;
    transport: string;
    score: number;
  }>;
  status(): NodeStatus;
  on<E extends keyof NodeEvents>(event: E, fn: (e: NodeEvents[E]) => void): () => void;
}
