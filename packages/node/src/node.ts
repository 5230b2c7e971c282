// createNode: every package composed into one node, started and stopped as one.
import { EventEmitter } from 'node:events';
import {
  AbortError,
  noopLogger,
  withPeer,
  parseAddress,
  systemClock,
  type AbortOptions,
  type Address,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
} from '@detr/interface';
import {
  createIdentity,
  peerIdFromBytes,
  peerIdFromString,
  type Identity,
  type TokenVerifier,
} from '@detr/aecomms';
import { createMemoryStore, type Store } from '@detr/stored';
import { createInboundLimiter, createScheduler, type Scheduler } from '@detr/fluent';
import { createDpeers, type Dpeers } from '@detr/dpeers';
import { opt, resolveConfig, type ConfigInput, type NodeConfig } from './config/config.js';
import {
  createMessaging,
  type Messaging,
  type MessageHandler,
  type SendOptions,
  type SendResult,
} from './messaging.js';
import {
  createServices,
  type RequestOptions,
  type ServiceHandler,
  type Services,
} from './services.js';
import {
  createPubSub,
  type PubSub,
  type TopicHandler,
  type TopicValidator,
} from './gossip/pubsub.js';
import { createReplicatedKv } from './kv.js';
import { createOffline, type Offline } from './offline.js';
import { createInterimTcp } from './interim-tcp.js';
import { createDetrStack } from './wiring.js';
import { createMdnsDiscovery, type MdnsDiscovery, type MdnsFactory } from './mdns.js';
import type { ConnectionManager, DhtPort } from './ports.js';
import {
  issueToken,
  parseRevocations,
  revokeTokens,
  verifyToken,
  type Network,
  type Revocations,
} from './networks.js';
import { InvalidTokenError, PeerUnreachableError } from './errors.js';
import { SignedEnvelope } from '@detr/protocol';

/** Events of a node, with their payload. */
export interface NodeEvents {
  'peer:connect': { peer: PeerId; address: string };
  'peer:disconnect': { peer: PeerId };
  'peer:discovered': { peer: PeerId; addresses: string[]; source: string };
  'peer:lost': { peer: PeerId };
  'revocations:update': { seq: number };
}

/** Injected parts (tests, the in-process demo). Absent ones are built from the config. */
export interface NodeComponents {
  identity?: Identity;
  store?: Store;
  connections?: ConnectionManager;
  dht?: DhtPort;
  clock?: Clock;
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
  /** Skip token checks (in-process tests on the memory hub). @default false */
  insecureNoTokens?: boolean;
}

export interface NodeStatus {
  peerId: string;
  addresses: string[];
  network: string | undefined;
  connections: number;
  outbox: Record<string, number>;
  messaging: ReturnType<Messaging['stats']>;
  services: ReturnType<Services['stats']>;
  pubsub: ReturnType<PubSub['stats']>;
  offline: ReturnType<Offline['stats']>;
  revocationSeq: number;
  handshakeFailures: number;
  dhtLookups: number;
  uptimeMs: number;
}

/** The composed node. */
export interface DetrNode {
  readonly peerId: PeerId;
  readonly identity: Identity;
  readonly config: NodeConfig;
  readonly connections: ConnectionManager;
  readonly dpeers: Dpeers;
  readonly scheduler: Scheduler;
  readonly pubsub: PubSub;
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
  announce(options?: AbortOptions): Promise<void>;
  findPeer(peer: PeerId, options?: AbortOptions): Promise<string[] | undefined>;
  readonly dht: {
    put(
      key: Uint8Array,
      value: Uint8Array,
      options?: { ttlSec?: number } & AbortOptions,
    ): Promise<void>;
    get(key: Uint8Array, options?: AbortOptions): Promise<Uint8Array | undefined>;
  };
  /** Fetches offline messages now (also done on start and every minute). */
  fetchOffline(options?: AbortOptions): Promise<number>;
  // networks
  readonly network: Network | undefined;
  issueToken(peer: PeerId, options?: { ttlMs?: number }): { token: string; tokenId: string };
  revokeTokens(tokenIds: readonly string[]): Promise<Revocations>;
  /** The revocation list in force. */
  readonly revocationList: Revocations | undefined;
  peers(): Array<{ peer: string; address: string; direction: string; score: number }>;
  status(): NodeStatus;
  on<E extends keyof NodeEvents>(event: E, fn: (e: NodeEvents[E]) => void): () => void;
}

export const REVOCATION_TOPIC = '/detr/network/revocations';

class Node implements DetrNode {
  readonly peerId: PeerId;
  readonly identity: Identity;
  readonly config: NodeConfig;
  readonly connections: ConnectionManager;
  readonly dpeers: Dpeers;
  readonly scheduler: Scheduler;
  readonly pubsub: PubSub;
  readonly dht: DetrNode['dht'];
  private readonly store: Store;
  private readonly ownStore: boolean;
  private readonly kv: DhtPort;
  private readonly messaging: Messaging;
  private readonly services: Services;
  private readonly offline: Offline;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events = new EventEmitter();
  /** The connection manager as the protocols see it: dials by PeerId resolve through the DHT. */
  private readonly routed: ConnectionManager;
  private revocations: Revocations | undefined;
  private handshakeFailures = 0;
  /** The transport's token verifier (detr stack): revocations are installed in it. */
  private tokenVerifier: TokenVerifier | undefined;
  /** Token id each authenticated peer presented, to cut it when the token is revoked. */
  private readonly peerTokens = new Map<string, string>();
  private dhtLookups = 0;
  private startedAt = 0;
  private running = false;
  private offs: Array<() => void> = [];
  private fetchTimer: NodeJS.Timeout | undefined;
  private mdns: MdnsDiscovery | undefined;
  private announceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly init: NodeInit,
    private readonly components: NodeComponents,
  ) {
    this.config =
      'node' in (init.config ?? {}) && Object.isFrozen(init.config)
        ? (init.config as NodeConfig)
        : resolveConfig(init.config ?? {});
    const cfg = this.config;
    this.identity = components.identity ?? createIdentity();
    this.peerId = this.identity.peerId;
    this.clock = components.clock ?? systemClock;
    this.log = (components.logger ?? noopLogger).child({
      peer: this.peerId.toString().slice(0, 12),
    });
    this.ownStore = components.store === undefined;
    this.store = components.store ?? createMemoryStore({ clock: this.clock });
    this.events.setMaxListeners(100);
    if (init.revocations !== undefined && init.network !== undefined) {
      this.revocations = parseRevocations(init.revocations, init.network);
    }
    this.dpeers = createDpeers(
      { store: this.store, clock: this.clock, logger: this.log, peerIdFromString },
      {
        maxConnections: opt<number>(cfg, 'dpeers', 'max_peers'),
        banThreshold: opt<number>(cfg, 'dpeers', 'reputation_threshold'),
        maxConnectionsPerIp: opt<number>(cfg, 'dpeers', 'max_connections_per_ip'),
        banBaseMs: opt<number>(cfg, 'dpeers', 'ban_base_ms'),
      },
    );
    const networkId = init.network?.id ?? '00'.repeat(32);
    const stack = opt<string>(cfg, 'transport', 'stack');
    if (components.connections !== undefined) {
      this.connections = components.connections;
    } else if (stack === 'detr' && init.network !== undefined && init.insecureNoTokens !== true) {
      const built = createDetrStack({
        identity: this.identity,
        network: init.network,
        token: init.token ?? '',
        ...(init.revocations !== undefined ? { revocations: init.revocations } : {}),
        dpeers: this.dpeers,
        reporter: {
          penalize: (peer, reason, weight) => {
            if (reason === 'handshake-failed') this.handshakeFailures++;
            this.dpeers.penalize(peer, reason, weight);
          },
          reward: (peer, reason, weight) => this.dpeers.reward(peer, reason, weight),
        },
        clock: this.clock,
        logger: this.log,
        listen: opt<readonly string[]>(cfg, 'transport', 'listen'),
        dialTimeoutMs: opt<number>(cfg, 'transport', 'connection_timeout_ms'),
        clockSkewMs: opt<number>(cfg, 'aecomms', 'token_clock_skew_ms'),
      });
      this.connections = built.connections;
      this.tokenVerifier = built.tokens;
    } else {
      this.connections = createInterimTcp(
        {
          identity: this.identity,
          peerIdFromString,
          token: () => init.token ?? '',
          admit: (peer, token) => this.admit(peer, token),
          logger: this.log,
          onHandshakeFailure: () => {
            this.handshakeFailures++;
          },
        },
        {
          listen: opt<readonly string[]>(cfg, 'transport', 'listen'),
          networkId,
          handshakeTimeoutMs: opt<number>(cfg, 'transport', 'connection_timeout_ms'),
        },
      );
    }
    this.routed = this.resolvingDialer(this.connections);
    this.scheduler = createScheduler(
      { clock: this.clock, logger: this.log },
      {
        maxMessages: opt<number>(cfg, 'fluent', 'max_queue_messages'),
        maxBytes: opt<number>(cfg, 'fluent', 'max_queue_bytes'),
        peerLimit: { messagesPerSec: opt<number>(cfg, 'fluent', 'peer_messages_per_sec') },
      },
    );
    const inbound = createInboundLimiter(
      { clock: this.clock, logger: this.log, peerReporter: this.dpeers },
      { peerLimit: { messagesPerSec: opt<number>(cfg, 'fluent', 'inbound_messages_per_sec') } },
    );
    const maxMessageBytes = opt<number>(cfg, 'node', 'max_message_bytes');
    this.services = createServices(
      {
        connections: this.routed,
        peerReporter: this.dpeers,
        logger: this.log,
        peerIdFromBytes,
      },
      { requestTimeoutMs: opt<number>(cfg, 'node', 'request_timeout_ms'), maxMessageBytes },
    );
    this.kv =
      components.dht ??
      createReplicatedKv(
        {
          services: this.services,
          connections: this.connections,
          self: this.peerId,
          now: () => this.clock.now(),
          peerIdFromBytes,
        },
        { defaultTtlSec: opt<number>(cfg, 'dht', 'record_ttl_sec') },
      );
    this.dht = {
      put: (k, v, o) => this.kv.put(k, v, o),
      get: (k, o) => {
        this.dhtLookups++;
        return this.kv.get(k, o);
      },
    };
    this.offline = createOffline(
      {
        dht: this.kv,
        identity: this.identity,
        store: this.store,
        now: () => this.clock.now(),
        deliver: (m) => {
          let from: PeerId;
          try {
            from = peerIdFromBytes(m.sender);
          } catch {
            return;
          }
          this.messaging.deliver({ from, channel: m.channel, data: m.data, via: 'offline' });
        },
      },
      {
        ttlSec: opt<number>(cfg, 'node', 'offline_ttl_sec'),
        maxBytes: opt<number>(cfg, 'node', 'offline_max_bytes'),
      },
    );
    const offlineOn = opt<boolean>(cfg, 'node', 'offline_delivery');
    this.messaging = createMessaging(
      {
        connections: this.routed,
        store: this.store,
        scheduler: this.scheduler,
        inbound,
        peerReporter: this.dpeers,
        clock: this.clock,
        logger: this.log,
        peerIdFromString,
        ...(offlineOn
          ? {
              storeOffline: (p: PeerId, ch: string, d: Uint8Array, o: AbortOptions) =>
                this.offline.store(p, ch, d, o),
            }
          : {}),
      },
      {
        maxMessageBytes,
        ackTimeoutMs: opt<number>(cfg, 'node', 'ack_timeout_ms'),
        retransmitIntervalMs: opt<number>(cfg, 'node', 'retransmit_interval_ms'),
        maxOutboxMessages: opt<number>(cfg, 'node', 'max_outbox_messages'),
        dialTimeoutMs: opt<number>(cfg, 'transport', 'connection_timeout_ms'),
      },
    );
    this.pubsub = createPubSub(
      {
        connections: this.routed,
        identity: this.identity,
        peerIdFromBytes,
        peerReporter: this.dpeers,
        clock: this.clock,
        logger: this.log,
      },
      {
        D: opt<number>(cfg, 'node', 'gossip_d'),
        Dlo: opt<number>(cfg, 'node', 'gossip_d_lo'),
        Dhi: opt<number>(cfg, 'node', 'gossip_d_hi'),
        heartbeatMs: opt<number>(cfg, 'node', 'gossip_heartbeat_ms'),
        maxDataBytes: maxMessageBytes,
      },
    );
  }

  private resolvingDialer(cm: ConnectionManager): ConnectionManager {
    const dial = async (target: PeerId | Address, options?: AbortOptions): Promise<Connection> => {
      try {
        return await cm.dial(target, options);
      } catch (err) {
        if ('transport' in target || err instanceof AbortError || !this.running) throw err;
        this.dhtLookups++;
        const found = await this.kv.findPeer(target, options).catch(() => undefined);
        if (found === undefined || found.length === 0) throw err;
        for (const a of found) cm.addAddress(target, a);
        return cm.dial(target, options);
      }
    };
    return {
      start: () => cm.start(),
      stop: () => cm.stop(),
      addresses: () => cm.addresses(),
      dial,
      connections: (peer) => cm.connections(peer),
      handle: (p, h) => cm.handle(p, h),
      unhandle: (p) => cm.unhandle(p),
      addAddress: (peer, a) => cm.addAddress(peer, a),
      on: (event, fn) => cm.on(event, fn),
    };
  }

  get network(): Network | undefined {
    return this.init.network;
  }

  /** Admission of a remote peer at the handshake: dpeers (bans) and its network token. */
  private admit(peer: PeerId, token: string): boolean {
    if (this.dpeers.isBanned(peer) || !this.dpeers.isAuthorized(peer)) return false;
    if (this.init.insecureNoTokens === true) return true;
    const network = this.init.network;
    if (network === undefined) return false;
    try {
      const info = verifyToken(
        token,
        network,
        peer,
        this.revocations,
        this.clock.now(),
        opt<number>(this.config, 'aecomms', 'token_clock_skew_ms'),
      );
      this.peerTokens.set(peer.toString(), info.tokenId);
      return true;
    } catch {
      this.dpeers.penalize(peer, 'handshake-failed');
      return false;
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (
      this.init.network === undefined &&
      this.init.insecureNoTokens !== true &&
      this.connectionsInjected() === false
    ) {
      throw new InvalidTokenError(
        'a node needs a network and a token (or insecureNoTokens for tests)',
      );
    }
    this.startedAt = this.clock.now();
    if (this.ownStore) await this.store.start();
    await this.dpeers.start();
    await this.scheduler.start();
    await this.connections.start();
    this.offs.push(
      this.connections.on('connection:open', (c) => {
        this.dpeers.connectionOpened(c);
        this.dpeers.addressSucceeded(c.remotePeer, c.remoteAddress);
        this.events.emit('peer:connect', {
          peer: c.remotePeer,
          address: c.remoteAddress.toString(),
        });
        this.scheduleOfflineFetch();
      }),
      this.connections.on('connection:close', (c) => {
        this.dpeers.connectionClosed(c);
        this.events.emit('peer:disconnect', { peer: c.remotePeer });
      }),
    );
    this.services.start();
    await this.kv.start();
    await this.messaging.start();
    this.pubsub.start();
    this.pubsub.subscribe(REVOCATION_TOPIC, (m) => this.onRevocations(m.data));
    this.running = true;
    this.connectBootstrap();
    if (opt<boolean>(this.config, 'node', 'mdns')) this.startMdns();
    this.fetchTimer = setInterval(() => void this.fetchOffline().catch(() => {}), 60_000);
    this.fetchTimer.unref();
    this.announceTimer = setInterval(
      () => void this.announce().catch(() => {}),
      opt<number>(this.config, 'dht', 'announce_interval_ms'),
    );
    this.announceTimer.unref();
  }

  private offlineFetchTimer: NodeJS.Timeout | undefined;
  private lastOfflineFetch = 0;

  /** Reads the offline mailbox soon after the first connection (later: every minute). */
  private scheduleOfflineFetch(): void {
    if (this.offlineFetchTimer !== undefined || this.lastOfflineFetch !== 0) return;
    const delay = Math.max(200, this.lastOfflineFetch + 10_000 - Date.now());
    this.offlineFetchTimer = setTimeout(() => {
      this.offlineFetchTimer = undefined;
      this.lastOfflineFetch = Date.now();
      // First connection: say where we are, then read the mailbox.
      void this.announce()
        .catch(() => {})
        .then(() => this.fetchOffline())
        .catch(() => {});
    }, delay);
    this.offlineFetchTimer.unref();
  }

  private connectionsInjected(): boolean {
    return this.init.insecureNoTokens === true;
  }

  private onRevocations(data: Uint8Array): void {
    const network = this.init.network;
    if (network === undefined) return;
    try {
      const r = parseRevocations(new TextDecoder().decode(data), network);
      if (r.seq <= (this.revocations?.seq ?? 0)) return;
      this.revocations = r;
      this.cutRevoked();
      this.events.emit('revocations:update', { seq: r.seq });
    } catch {
      // not signed by an admin: ignore
    }
  }

  private startMdns(): void {
    this.mdns = createMdnsDiscovery({
      networkId: this.init.network?.id ?? '00'.repeat(32),
      peerId: this.peerId.toString(),
      addresses: () => this.addresses(),
      interface: opt<string>(this.config, 'node', 'mdns_interface'),
      port: opt<number>(this.config, 'node', 'mdns_port'),
      logger: this.log,
      ...(this.components.mdnsFactory !== undefined
        ? { factory: this.components.mdnsFactory }
        : {}),
      onPeer: (text, addresses) => {
        let peer: PeerId;
        try {
          peer = peerIdFromString(text);
        } catch {
          return;
        }
        if (this.connections.connections(peer).length > 0 || this.dpeers.isBanned(peer)) return;
        for (const a of addresses) this.connections.addAddress(peer, a);
        this.dpeers.addAddresses(peer, addresses, 'mdns');
        this.events.emit('peer:discovered', {
          peer,
          addresses: addresses.map(String),
          source: 'mdns',
        });
        void this.connections.dial(peer).catch(() => {});
      },
      onLost: (text) => {
        try {
          this.events.emit('peer:lost', { peer: peerIdFromString(text) });
        } catch {
          // malformed id: ignore
        }
      },
    });
    this.mdns.start();
  }

  /**
   * Connects to the bootstrap list; bootstrap peers are kept alive (the connection manager
   * redials them with backoff when it supports it).
   */
  private connectBootstrap(): void {
    for (const text of opt<readonly string[]>(this.config, 'dht', 'bootstrap')) {
      void this.connect(text).then(
        (peer) => (this.connections as { keepAlive?: (p: PeerId) => void }).keepAlive?.(peer),
        (err: unknown) => this.log.warn({ err: String(err), address: text }, 'bootstrap failed'),
      );
    }
  }

  /** Closes connections of peers whose token is revoked now. */
  private cutRevoked(): void {
    const revoked = this.revocations?.revoked;
    if (revoked === undefined) return;
    if (this.tokenVerifier !== undefined && this.revocations !== undefined) {
      try {
        this.tokenVerifier.updateRevocationList(
          SignedEnvelope.decode(new Uint8Array(Buffer.from(this.revocations.text, 'base64url'))),
        );
      } catch (err) {
        this.log.warn({ err: String(err) }, 'revocation list refused by the transport');
      }
      // The transport does not tell which token a connection presented: close them all; members
      // reconnect on demand, revoked peers are refused at their next handshake.
      for (const c of this.connections.connections()) void c.close().catch(() => c.abort());
      setTimeout(() => {
        if (this.running) this.connectBootstrap();
      }, 500).unref();
      return;
    }
    for (const c of this.connections.connections()) {
      const id = this.peerTokens.get(c.remotePeer.toString());
      if (id !== undefined && revoked.has(id)) {
        this.log.info({ peer: c.remotePeer.toString() }, 'token revoked: connection cut');
        c.abort();
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.fetchTimer !== undefined) clearInterval(this.fetchTimer);
    if (this.announceTimer !== undefined) clearInterval(this.announceTimer);
    if (this.offlineFetchTimer !== undefined) clearTimeout(this.offlineFetchTimer);
    this.offlineFetchTimer = undefined;
    await this.mdns?.stop();
    this.mdns = undefined;
    this.pubsub.stop();
    await this.messaging.stop();
    await this.kv.stop();
    this.services.stop();
    for (const off of this.offs.splice(0)) off();
    // Close connections one by one, each with its own time limit (the transport's manager shares
    // one signal over all of them at stop, which trips Node's listener-leak warning past 10).
    await Promise.all(
      this.connections
        .connections()
        .map((c) => c.close({ signal: AbortSignal.timeout(5000) }).catch(() => c.abort())),
    );
    await this.connections.stop();
    await this.scheduler.stop();
    await this.dpeers.stop();
    if (this.ownStore) await this.store.stop();
  }

  addresses(): string[] {
    const self = this.peerId.toString();
    return this.connections
      .addresses()
      .map((a) => (a.peer === undefined ? withPeer(a, self) : a).toString());
  }

  send(
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options?: SendOptions,
  ): Promise<SendResult> {
    return this.messaging.send(peer, channel, data, options);
  }

  onMessage(channel: string, handler: MessageHandler): () => void {
    return this.messaging.onMessage(channel, handler);
  }

  subscribe(topic: string, handler: TopicHandler): () => void {
    return this.pubsub.subscribe(topic, handler);
  }

  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }> {
    return this.pubsub.publish(topic, data);
  }

  broadcast(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }> {
    return this.pubsub.publish(topic, data);
  }

  setTopicValidator(topic: string, validator: TopicValidator | undefined): void {
    this.pubsub.setValidator(topic, validator);
  }

  handle(service: string, handler: ServiceHandler): void {
    this.services.handle(service, handler);
  }

  request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array> {
    return this.services.request(peer, service, data, options);
  }

  async connect(target: PeerId | Address | string, options: AbortOptions = {}): Promise<PeerId> {
    let t: PeerId | Address;
    if (typeof target === 'string')
      t = target.startsWith('/') ? parseAddress(target) : peerIdFromString(target);
    else t = target;
    if (!('transport' in t) && this.connections.connections(t).length === 0) {
      // A PeerId: find where it is first.
      const found = await this.kv.findPeer(t, options).catch(() => undefined);
      for (const a of found ?? []) this.connections.addAddress(t, a);
    }
    let conn: Connection;
    try {
      conn = await this.connections.dial(t, options);
    } catch (err) {
      if (err instanceof AbortError || err instanceof PeerUnreachableError) throw err;
      throw new PeerUnreachableError(t.toString(), { cause: err });
    }
    if ('transport' in t && t.peer === undefined) {
      this.events.emit('peer:discovered', {
        peer: conn.remotePeer,
        addresses: [t.toString()],
        source: 'manual',
      });
    }
    this.dpeers.addAddresses(conn.remotePeer, [conn.remoteAddress], 'manual');
    return conn.remotePeer;
  }

  announce(options?: AbortOptions): Promise<void> {
    return this.kv.announce(options);
  }

  async findPeer(peer: PeerId, options?: AbortOptions): Promise<string[] | undefined> {
    const local = this.connections.connections(peer)[0];
    if (local !== undefined && local.direction === 'outbound')
      return [local.remoteAddress.toString()];
    this.dhtLookups++;
    const found = await this.kv.findPeer(peer, options);
    if (found !== undefined && found.length > 0) {
      for (const a of found) this.connections.addAddress(peer, a);
      this.events.emit('peer:discovered', { peer, addresses: found.map(String), source: 'dht' });
    }
    return found?.map((a) => a.toString());
  }

  async fetchOffline(options?: AbortOptions): Promise<number> {
    if (!this.running) return 0;
    return (await this.offline.fetch(options)).length;
  }

  issueToken(peer: PeerId, options: { ttlMs?: number } = {}): { token: string; tokenId: string } {
    if (this.init.admin === undefined || this.init.network === undefined) {
      throw new InvalidTokenError('this node holds no admin key');
    }
    return issueToken(this.init.admin, this.init.network, peer, {
      ...options,
      nowMs: this.clock.now(),
    });
  }

  async revokeTokens(tokenIds: readonly string[]): Promise<Revocations> {
    if (this.init.admin === undefined || this.init.network === undefined) {
      throw new InvalidTokenError('this node holds no admin key');
    }
    const r = revokeTokens(
      this.init.admin,
      this.init.network,
      this.revocations,
      tokenIds,
      this.clock.now(),
    );
    this.revocations = r;
    await this.pubsub.publish(REVOCATION_TOPIC, new TextEncoder().encode(r.text));
    this.cutRevoked();
    return r;
  }

  get revocationList(): Revocations | undefined {
    return this.revocations;
  }

  peers(): Array<{ peer: string; address: string; direction: string; score: number }> {
    return this.connections.connections().map((c) => ({
      peer: c.remotePeer.toString(),
      address: c.remoteAddress.toString(),
      direction: c.direction,
      score: this.dpeers.score(c.remotePeer),
    }));
  }

  status(): NodeStatus {
    return {
      peerId: this.peerId.toString(),
      addresses: this.addresses(),
      network: this.init.network?.id,
      connections: this.connections.connections().length,
      outbox: this.messaging.pending(),
      messaging: this.messaging.stats(),
      services: this.services.stats(),
      pubsub: this.pubsub.stats(),
      offline: this.offline.stats(),
      revocationSeq: this.revocations?.seq ?? 0,
      handshakeFailures: this.handshakeFailures,
      dhtLookups: this.dhtLookups,
      uptimeMs: this.running ? this.clock.now() - this.startedAt : 0,
    };
  }

  on<E extends keyof NodeEvents>(event: E, fn: (e: NodeEvents[E]) => void): () => void {
    this.events.on(event, fn);
    return () => this.events.off(event, fn);
  }
}

/**
 * Creates a node: messaging, pub/sub, services, DHT, offline delivery and networks over one
 * connection manager, started and stopped as one.
 *
 * @throws {ConfigError} for an invalid config
 * @example
 * ```ts
 * const node = createNode({ config: { node: { log_level: 'warn' } }, network, token })
 * await node.start()
 * node.onMessage('chat', ({ from, data }) => console.log(from.toString(), data))
 * await node.send(peer, 'chat', new TextEncoder().encode('hi'), { qos: 'ack' })
 * ```
 */
export function createNode(init: NodeInit = {}, components: NodeComponents = {}): DetrNode {
  return new Node(init, components);
}
