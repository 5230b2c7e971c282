// createNode: every package composed into one node (node-build.ts), started and stopped as one.
import { EventEmitter } from 'node:events';
import {
  noopLogger,
  systemClock,
  withPeer,
  type AbortOptions,
  type Address,
  type Clock,
  type Logger,
  type PeerId,
  type PeerReporter,
} from '@detr/interface';
import { createIdentity, type Identity } from '@detr/aecomms';
import { createMemoryStore, type Store } from '@detr/stored';
import type { Dpeers } from '@detr/dpeers';
import type { Scheduler } from '@detr/fluent';
import type { ConnectionManager } from '@detr/transport';
import { opt, resolveConfig, type NodeConfig } from './config/config.js';
import type { MessageHandler, SendOptions, SendResult } from './messaging.js';
import type { RequestOptions, ServiceHandler } from './services.js';
import type { PubSub, TopicHandler, TopicValidator } from './gossip/pubsub.js';
import { buildParts, type Parts } from './node-build.js';
import { createDiscovery, type Discovery } from './node-discovery.js';
import { connectTo, findPeerAddresses, locate, resolvingDialer } from './node-connect.js';
import {
  createRevocationState,
  REVOCATION_TOPIC,
  type RevocationState,
} from './node-revocations.js';
import { issueToken, revokeTokens, type Network, type Revocations } from './networks.js';
import { InvalidTokenError } from './errors.js';
import type { DetrNode, NodeComponents, NodeEvents, NodeInit, NodeStatus } from './node-types.js';

export { REVOCATION_TOPIC } from './node-revocations.js';
export type { DetrNode, NodeComponents, NodeEvents, NodeInit, NodeStatus } from './node-types.js';

class Node implements DetrNode {
  readonly peerId: PeerId;
  readonly identity: Identity;
  readonly config: NodeConfig;
  readonly connections: ConnectionManager;
  readonly dpeers: Dpeers;
  readonly scheduler: Scheduler;
  readonly pubsub: PubSub;
  readonly dht: DetrNode['dht'];
  private readonly parts: Parts;
  private readonly store: Store;
  private readonly ownStore: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events = new EventEmitter();
  private readonly revocations: RevocationState;
  private readonly discovery: Discovery;
  private handshakeFailures = 0;
  private startedAt = 0;
  private running = false;
  private offs: Array<() => void> = [];

  constructor(
    readonly init: NodeInit,
    components: NodeComponents,
  ) {
    this.config =
      'node' in (init.config ?? {}) && Object.isFrozen(init.config)
        ? (init.config as NodeConfig)
        : resolveConfig(init.config ?? {});
    const network = init.network;
    if (network === undefined)
      throw new InvalidTokenError('a node needs a network and a token for it');
    this.identity = components.identity ?? createIdentity();
    this.peerId = this.identity.peerId;
    this.clock = components.clock ?? systemClock;
    this.log = (components.logger ?? noopLogger).child({
      peer: this.peerId.toString().slice(0, 12),
    });
    this.ownStore = components.store === undefined;
    this.store = components.store ?? createMemoryStore({ clock: this.clock });
    this.events.setMaxListeners(100);
    const counted = (dpeers: Dpeers): PeerReporter => ({
      penalize: (peer, reason, weight) => {
        if (reason === 'handshake-failed') this.handshakeFailures++;
        dpeers.penalize(peer, reason, weight);
      },
      reward: (peer, reason, weight) => dpeers.reward(peer, reason, weight),
    });
    this.parts = buildParts(
      {
        identity: this.identity,
        network,
        token: init.token ?? '',
        ...(init.revocations !== undefined ? { revocations: init.revocations } : {}),
        store: this.store,
        clock: this.clock,
        logger: this.log,
        routed: (cm) =>
          resolvingDialer(cm, {
            running: () => this.running,
            locate: (peer, o) => locate(this.parts.dht, cm, peer, o),
          }),
        reporter: counted,
        onTokenRefused: () => this.handshakeFailures++,
        deliverOffline: (m) => this.parts.messaging.deliver(m),
      },
      this.config,
    );
    const p = this.parts;
    this.connections = p.stack.connections;
    this.dpeers = p.dpeers;
    this.scheduler = p.scheduler;
    this.pubsub = p.pubsub;
    this.dht = {
      put: (k, v, o) => p.dht.put(k, v, o),
      get: (k, o) => p.dht.get(k, o),
      kad: p.dht.dht,
    };
    this.revocations = createRevocationState(
      { network, stack: p.stack, logger: this.log },
      init.revocations,
    );
    const mdnsOn = opt<boolean>(this.config, 'node', 'mdns');
    this.discovery = createDiscovery(
      {
        connections: this.connections,
        dpeers: this.dpeers,
        dht: p.dht,
        nat: p.stack.nat,
        logger: this.log,
        connect: (a) => this.connect(a),
        fetchOffline: () => this.fetchOffline(),
        emit: (e, payload) => this.events.emit(e, payload),
        addresses: () => this.addresses(),
        ...(components.mdnsFactory !== undefined ? { mdnsFactory: components.mdnsFactory } : {}),
      },
      {
        bootstrap: opt<readonly string[]>(this.config, 'dht', 'bootstrap'),
        networkId: network.id,
        peerId: this.peerId.toString(),
        mdns: mdnsOn
          ? {
              interface: opt<string>(this.config, 'node', 'mdns_interface'),
              port: opt<number>(this.config, 'node', 'mdns_port'),
            }
          : undefined,
        offlineFetchIntervalMs: 60_000,
      },
    );
  }

  get nat(): DetrNode['nat'] {
    return this.parts.stack.nat;
  }

  get network(): Network | undefined {
    return this.init.network;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const p = this.parts;
    this.startedAt = this.clock.now();
    if (this.ownStore) await this.store.start();
    await this.dpeers.start();
    await this.scheduler.start();
    await this.connections.start();
    this.offs.push(
      this.connections.on('connection:open', (c) => {
        this.dpeers.addressSucceeded(c.remotePeer, c.remoteAddress);
        this.events.emit('peer:connect', {
          peer: c.remotePeer,
          address: c.remoteAddress.toString(),
        });
      }),
      this.connections.on('connection:close', (c) => {
        this.events.emit('peer:disconnect', { peer: c.remotePeer });
      }),
    );
    p.services.start();
    await p.dht.start();
    await p.stack.nat?.start();
    await p.messaging.start();
    p.pubsub.start();
    p.pubsub.subscribe(REVOCATION_TOPIC, (m) => {
      const seq = this.revocations.receive(new TextDecoder().decode(m.data));
      if (seq !== undefined) this.events.emit('revocations:update', { seq });
    });
    this.running = true;
    this.discovery.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const p = this.parts;
    await this.discovery.stop();
    p.pubsub.stop();
    await p.messaging.stop();
    await p.stack.nat?.stop();
    await p.dht.stop();
    p.services.stop();
    for (const off of this.offs.splice(0)) off();
    // Close connections one by one, each with its own time limit (the manager shares one signal
    // over all of them at stop, which trips Node's listener-leak warning past 10).
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
      .filter((a) => a.transport !== 'webrtc')
      .map((a) => (a.peer === undefined ? withPeer(a, self) : a).toString());
  }

  send(peer: PeerId, channel: string, data: Uint8Array, o?: SendOptions): Promise<SendResult> {
    return this.parts.messaging.send(peer, channel, data, o);
  }

  onMessage(channel: string, handler: MessageHandler): () => void {
    return this.parts.messaging.onMessage(channel, handler);
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
    this.parts.services.handle(service, handler);
  }

  request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    o?: RequestOptions,
  ): Promise<Uint8Array> {
    return this.parts.services.request(peer, service, data, o);
  }

  async connect(target: PeerId | Address | string, options: AbortOptions = {}): Promise<PeerId> {
    return connectTo(
      {
        dht: this.parts.dht,
        connections: this.connections,
        dpeers: this.dpeers,
        emit: (e, p) => this.events.emit(e, p),
        onHandshakeFailure: () => this.handshakeFailures++,
      },
      target,
      options,
    );
  }

  announce(): Promise<void> {
    return this.discovery.announce();
  }

  findPeer(peer: PeerId, options?: AbortOptions): Promise<string[] | undefined> {
    return findPeerAddresses(this.parts.dht, this.connections, peer, options, (e, p) =>
      this.events.emit(e, p),
    );
  }

  async fetchOffline(options?: AbortOptions): Promise<number> {
    if (!this.running) return 0;
    return (await this.parts.offline.fetch(options)).length;
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
      this.revocations.current,
      tokenIds,
      this.clock.now(),
    );
    // Publish first: the holders' connections carry the list to the rest of the network.
    await this.pubsub.publish(REVOCATION_TOPIC, new TextEncoder().encode(r.text));
    this.revocations.apply(r);
    return r;
  }

  get revocationList(): Revocations | undefined {
    return this.revocations.current;
  }

  peers(): ReturnType<DetrNode['peers']> {
    return this.connections.connections().map((c) => ({
      peer: c.remotePeer.toString(),
      address: c.remoteAddress.toString(),
      direction: c.direction,
      transport: c.transport,
      score: this.dpeers.score(c.remotePeer),
    }));
  }

  status(): NodeStatus {
    const p = this.parts;
    const relay = p.stack.nat?.relay?.stats;
    return {
      peerId: this.peerId.toString(),
      addresses: this.addresses(),
      network: this.init.network?.id,
      connections: this.connections.connections().length,
      outbox: p.messaging.pending(),
      messaging: p.messaging.stats(),
      services: p.services.stats(),
      pubsub: this.pubsub.stats(),
      offline: p.offline.stats(),
      dht: p.dht.dht.stats(),
      nat: p.stack.nat?.status,
      relay: {
        reservations: relay?.reservations ?? 0,
        circuitsOpen: relay?.circuitsOpen ?? 0,
        circuitsOpened: relay?.circuitsOpened ?? 0,
        bytesRelayed: relay?.bytesRelayed ?? 0,
      },
      revocationSeq: this.revocations.current?.seq ?? 0,
      handshakeFailures: this.handshakeFailures,
      dhtLookups: p.dht.lookups,
      uptimeMs: this.running ? this.clock.now() - this.startedAt : 0,
    };
  }

  on<E extends keyof NodeEvents>(event: E, fn: (e: NodeEvents[E]) => void): () => void {
    this.events.on(event, fn);
    return () => this.events.off(event, fn);
  }
}

/**
 * Creates a node: messaging, pub/sub, services, the DHT, NAT traversal, offline delivery and
 * networks over @detr/transport's connection manager, started and stopped as one.
 *
 * @throws {ConfigError} for an invalid config
 * @throws {InvalidTokenError} without a network
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
