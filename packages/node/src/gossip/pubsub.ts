// Gossip pub/sub (/detr/gossip/1), GossipSub-like. This module composes the parts and owns the
// local side (subscribe, publish, deliver, forward along the mesh): `inbound.ts` is the receive
// path (checks, seen-cache, validation), `peers.ts` the streams, `router.ts` the meshes and control
// traffic (GRAFT/PRUNE/IHAVE/IWANT), `score.ts` the per-topic peer scores, `cache.ts` the
// seen-cache and message cache, `message.ts` signing and checking messages.
import {
  noopLogger,
  noopPeerReporter,
  systemClock,
  type Clock,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Timer,
} from '@detr/interface';
import { MessageType, type GossipMessageInit } from '@detr/protocol';
import { frameBytes } from '../framing.js';
import { isHostile } from '../messaging.js';
import { MessageCache, SeenCache } from './cache.js';
import { Inbound } from './inbound.js';
import { checkTopic, signPublish } from './message.js';
import { GossipLinks } from './peers.js';
import { MeshRouter } from './router.js';
import { PeerScores } from './score.js';
import {
  resolvePubSubInit,
  type PubSub,
  type PubSubComponents,
  type PubSubInit,
  type PubSubMessage,
  type PubSubOptions,
  type PubSubStats,
  type TopicHandler,
  type TopicValidator,
} from './types.js';

export { GOSSIP_PROTOCOL } from './types.js';
export type {
  PubSub,
  PubSubComponents,
  PubSubInit,
  PubSubMessage,
  PubSubStats,
  TopicHandler,
  TopicValidator,
  Verdict,
} from './types.js';
export { messageIdOf } from './message.js';

class PubSubImpl implements PubSub {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly reporter: PeerReporter;
  private readonly o: PubSubOptions;
  private readonly subs = new Map<string, Set<TopicHandler>>();
  private readonly validators = new Map<string, TopicValidator>();
  private readonly seen: SeenCache;
  private readonly mcache: MessageCache;
  private readonly links: GossipLinks;
  private readonly router: MeshRouter;
  readonly scores = new PeerScores();
  private readonly inbound: Inbound;
  private seqno = 0;
  private timer: Timer | undefined;
  private soon: Timer | undefined;
  private running = false;
  private readonly counters: PubSubStats = {
    published: 0,
    delivered: 0,
    forwarded: 0,
    duplicates: 0,
    rejected: 0,
    ignored: 0,
    invalid: 0,
    iwantServed: 0,
    brokenPromises: 0,
    dropped: 0,
    grafts: 0,
    prunes: 0,
  };

  constructor(
    private readonly c: PubSubComponents,
    init: PubSubInit,
  ) {
    this.clock = c.clock ?? systemClock;
    this.log = (c.logger ?? noopLogger).child({ component: 'node:pubsub' });
    this.reporter = c.peerReporter ?? noopPeerReporter;
    this.o = resolvePubSubInit(init);
    this.seen = new SeenCache(this.o.seenTtlMs, this.o.seenMax);
    this.mcache = new MessageCache(
      this.o.historyLength,
      this.o.historyGossip,
      this.o.maxCachedMessages,
    );
    this.links = new GossipLinks(c.connections, this.o, this.log, {
      hello: () => this.hello(),
      onRpc: (st, rpc) => this.inbound.handleRpc(st, rpc),
      onPeerGone: (st) => this.router.forget(st.key),
      onInvalid: (st, err) => {
        if (!isHostile(err)) return;
        this.counters.invalid++;
        this.scores.penalty(st.key);
        this.reporter.penalize(st.peer, 'invalid-message');
      },
      ignored: (st) => this.scores.score(st.key) < this.o.graylistThreshold,
      onDrop: () => this.counters.dropped++,
    });
    this.router = new MeshRouter({
      o: this.o,
      links: this.links,
      scores: this.scores,
      seen: this.seen,
      mcache: this.mcache,
      reporter: this.reporter,
      clock: this.clock,
      random: c.random ?? Math.random,
      counters: this.counters,
    });
    this.inbound = new Inbound({
      o: this.o,
      router: this.router,
      scores: this.scores,
      seen: this.seen,
      mcache: this.mcache,
      reporter: this.reporter,
      clock: this.clock,
      log: this.log,
      counters: this.counters,
      peerIdFromBytes: c.peerIdFromBytes,
      validators: this.validators,
      subscribed: (t) => this.subs.has(t),
      deliver: (m) => this.deliver(m),
      forward: (t, m, ...ex) => this.forward(t, m, ...ex),
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.links.start();
    this.scheduleHeartbeat();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.soon?.cancel();
    this.timer = this.soon = undefined;
    this.links.stop();
    for (const mesh of this.router.meshes.values()) mesh.clear();
  }

  private scheduleHeartbeat(): void {
    this.timer = this.clock.setTimeout(() => {
      if (!this.running) return;
      this.heartbeat();
      this.scheduleHeartbeat();
    }, this.o.heartbeatMs);
  }

  private heartbeat(): void {
    try {
      this.inbound.heartbeat();
      this.router.heartbeat();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'heartbeat failed');
    }
  }

  /** Our subscriptions, sent first on every new outbound stream. */
  private hello(): Uint8Array | undefined {
    if (this.subs.size === 0) return undefined;
    // 64 subscriptions per RPC; maxTopics bounds the number of RPCs.
    const topics = [...this.subs.keys()];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < topics.length; i += 64) {
      frames.push(
        frameBytes(MessageType.GossipRpc, {
          subscriptions: topics.slice(i, i + 64).map((topic) => ({ subscribe: true, topic })),
        }),
      );
    }
    return Buffer.concat(frames);
  }

  private deliver(msg: PubSubMessage): void {
    for (const h of this.subs.get(msg.topic) ?? []) {
      this.counters.delivered++;
      try {
        h(msg);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'topic handler failed');
      }
    }
  }

  private forward(topic: string, message: GossipMessageInit, ...exclude: string[]): number {
    let frame: Uint8Array | undefined;
    let n = 0;
    for (const key of this.router.meshPeers(topic)) {
      if (exclude.includes(key)) continue;
      const st = this.links.peers.get(key);
      if (st === undefined) continue;
      frame ??= frameBytes(MessageType.GossipRpc, { messages: [message] });
      this.links.sendFrame(st, frame);
      n++;
    }
    this.counters.forwarded += n;
    return n;
  }

  subscribe(topic: string, handler: TopicHandler): () => void {
    checkTopic(topic);
    let set = this.subs.get(topic);
    if (set === undefined) {
      if (this.subs.size >= this.o.maxTopics) {
        throw new RangeError(`at most ${this.o.maxTopics} topics`);
      }
      this.subs.set(topic, (set = new Set()));
      this.router.join(topic);
      for (const st of this.links.peers.values())
        this.links.send(st, { subscriptions: [{ subscribe: true, topic }] });
      this.heartbeatSoon();
    }
    set.add(handler);
    const handlers = set;
    return () => {
      handlers.delete(handler);
      if (handlers.size > 0 || this.subs.get(topic) !== handlers) return;
      this.subs.delete(topic);
      const mesh = this.router.leave(topic);
      for (const st of this.links.peers.values()) {
        this.links.send(st, {
          subscriptions: [{ subscribe: false, topic }],
          ...(mesh.has(st.key)
            ? { control: { prune: [{ topic, backoffSec: this.o.pruneBackoffSec }] } }
            : {}),
        });
      }
    };
  }

  /** Runs mesh maintenance soon (after a subscription) instead of waiting a full heartbeat. */
  private heartbeatSoon(): void {
    if (!this.running || this.soon !== undefined) return;
    this.soon = this.clock.setTimeout(
      () => {
        this.soon = undefined;
        if (this.running) this.heartbeat();
      },
      Math.min(100, this.o.heartbeatMs),
    );
  }

  setValidator(topic: string, validator: TopicValidator | undefined): void {
    checkTopic(topic);
    if (validator === undefined) this.validators.delete(topic);
    else if (typeof validator !== 'function') throw new TypeError('a validator is a function');
    else this.validators.set(topic, validator);
  }

  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }> {
    checkTopic(topic);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (data.length > this.o.maxDataBytes)
      throw new RangeError(`data exceeds ${this.o.maxDataBytes} bytes`);
    const identity = this.c.identity;
    const seqno = ++this.seqno;
    const { id, message } = signPublish(identity, topic, seqno, data);
    this.seen.check(id, this.clock.now());
    this.mcache.put(id, { topic, message });
    this.counters.published++;
    let recipients = 0;
    if (this.o.floodPublish || !this.subs.has(topic)) {
      const frame = frameBytes(MessageType.GossipRpc, { messages: [message] });
      for (const st of this.links.peers.values()) {
        if (!st.topics.has(topic) || this.scores.score(st.key, topic) < this.o.graylistThreshold)
          continue;
        this.links.sendFrame(st, frame);
        recipients++;
      }
    } else {
      recipients = this.forward(topic, message);
    }
    if (this.subs.has(topic)) {
      const self = identity.peerId;
      this.deliver({ topic, data, from: self, via: self, id, seqno });
    }
    return Promise.resolve({ id, recipients });
  }

  mesh(topic: string): string[] {
    return [...this.router.meshPeers(topic)];
  }

  topicPeers(topic: string): string[] {
    return [...this.links.peers.values()].filter((st) => st.topics.has(topic)).map((st) => st.key);
  }

  score(peer: PeerId, topic?: string): number {
    return this.scores.score(peer.toString(), topic);
  }

  stats(): PubSubStats {
    return { ...this.counters };
  }
}

/**
 * Creates gossip pub/sub.
 *
 * @throws {RangeError} unless Dlo ≤ D ≤ Dhi, and for non-positive limits
 * @example
 * ```ts
 * const pubsub = createPubSub({ connections, identity, peerIdFromBytes }, { D: 6 })
 * pubsub.start()
 * pubsub.subscribe('news', (m) => console.log(m.data))
 * await pubsub.publish('news', bytes)
 * ```
 */
export function createPubSub(components: PubSubComponents, init: PubSubInit = {}): PubSub {
  return new PubSubImpl(components, init);
}
