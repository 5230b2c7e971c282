// Gossip pub/sub (/detr/gossip/1), GossipSub-like: per topic a mesh of D peers (kept between Dlo
// and Dhi by a heartbeat), full messages pushed along the mesh, message ids gossiped lazily
// (IHAVE/IWANT) to Dlazy other peers, a seen-cache, signed messages, a validation hook whose
// verdict feeds per-topic peer scores (and dpeers penalties), and per-peer flood limits.
import { createHash } from 'node:crypto';
import {
  noopLogger,
  noopPeerReporter,
  systemClock,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
  type Timer,
} from '@detr/interface';
import {
  GossipPublish,
  MessageType,
  type GossipControlInit,
  type GossipMessage,
  type GossipMessageInit,
  type GossipRpc,
  type GossipRpcInit,
} from '@detr/protocol';
import { envelopeSigningBytes, verifySignature, type Identity } from '../identity.js';
import { frameBytes, readMessages, writeBytes } from '../framing.js';
import { isHostile } from '../messaging.js';
import type { ConnectionManager } from '../ports.js';
import { MessageCache, SeenCache } from './cache.js';
import { PeerScores } from './score.js';

export const GOSSIP_PROTOCOL = '/detr/gossip/1';
const PUBLISH_TYPE = MessageType.GossipPublish;

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

export type TopicValidator = (msg: PubSubMessage) => Verdict | Promise<Verdict>;
export type TopicHandler = (msg: PubSubMessage) => void;

export interface PubSubComponents {
  connections: ConnectionManager;
  identity: Identity;
  peerIdFromBytes: (bytes: Uint8Array) => PeerId;
  peerReporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

export interface PubSubInit {
  /** @default 6 */
  D?: number;
  /** @default 4 */
  Dlo?: number;
  /** @default 12 */
  Dhi?: number;
  /** Peers sent IHAVE per topic per heartbeat. @default 6 */
  Dlazy?: number;
  /** @default 1000 */
  heartbeatMs?: number;
  /** Heartbeat windows in the message cache. @default 5 */
  historyLength?: number;
  /** Windows advertised in IHAVE. @default 3 */
  historyGossip?: number;
  /** @default 120000 */
  seenTtlMs?: number;
  /** @default 100000 */
  seenMax?: number;
  /** Largest message data. @default 1048576 */
  maxDataBytes?: number;
  /** Messages accepted from one peer per heartbeat; excess dropped and penalised. @default 2000 */
  maxMessagesPerHeartbeat?: number;
  /** IWANT ids answered per peer per heartbeat. @default 500 */
  maxIWantPerHeartbeat?: number;
  /** Seconds a pruned peer waits before grafting again. @default 60 */
  pruneBackoffSec?: number;
  /** Peers scoring below this have their RPCs ignored. @default -40 */
  graylistThreshold?: number;
  /** Send our own messages to every topic peer, not only the mesh. @default true */
  floodPublish?: boolean;
}

export interface PubSubStats {
  published: number;
  delivered: number;
  forwarded: number;
  duplicates: number;
  rejected: number;
  ignored: number;
  invalid: number;
  iwantServed: number;
  dropped: number;
  grafts: number;
  prunes: number;
}

interface PeerState {
  peer: PeerId;
  key: string;
  topics: Set<string>;
  out: Stream | undefined;
  inbound: Set<Stream>;
  opening: boolean;
  /** RPC frames waiting for the stream to open. */
  backlog: Uint8Array[];
  msgsThisBeat: number;
  iwantThisBeat: number;
  backoff: Map<string, number>;
}

export interface PubSub {
  start(): void;
  stop(): void;
  subscribe(topic: string, handler: TopicHandler): () => void;
  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }>;
  setValidator(topic: string, validator: TopicValidator | undefined): void;
  /** Mesh peers of `topic` (text form). */
  mesh(topic: string): string[];
  /** Peers known to subscribe to `topic`. */
  topicPeers(topic: string): string[];
  score(peer: PeerId, topic?: string): number;
  stats(): PubSubStats;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

class PubSubImpl implements PubSub {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly reporter: PeerReporter;
  private readonly o: Required<PubSubInit>;
  private readonly peers = new Map<string, PeerState>();
  private readonly subs = new Map<string, Set<TopicHandler>>();
  private readonly validators = new Map<string, TopicValidator>();
  private readonly meshes = new Map<string, Set<string>>();
  private readonly seen: SeenCache;
  private readonly mcache: MessageCache;
  readonly scores = new PeerScores();
  private seqno = 0;
  private timer: Timer | undefined;
  private offs: Array<() => void> = [];
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
    this.o = {
      D: 6,
      Dlo: 4,
      Dhi: 12,
      Dlazy: 6,
      heartbeatMs: 1000,
      historyLength: 5,
      historyGossip: 3,
      seenTtlMs: 120_000,
      seenMax: 100_000,
      maxDataBytes: 1024 * 1024,
      maxMessagesPerHeartbeat: 2000,
      maxIWantPerHeartbeat: 500,
      pruneBackoffSec: 60,
      graylistThreshold: -40,
      floodPublish: true,
      ...init,
    };
    if (!(this.o.Dlo <= this.o.D && this.o.D <= this.o.Dhi)) {
      throw new RangeError('gossip degrees must satisfy Dlo ≤ D ≤ Dhi');
    }
    this.seen = new SeenCache(this.o.seenTtlMs, this.o.seenMax);
    this.mcache = new MessageCache(this.o.historyLength, this.o.historyGossip);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const cm = this.c.connections;
    cm.handle(GOSSIP_PROTOCOL, (s, conn) => this.onInbound(s, conn));
    this.offs.push(cm.on('connection:open', (conn) => this.addPeer(conn.remotePeer)));
    this.offs.push(cm.on('connection:close', (conn) => this.connectionClosed(conn)));
    for (const conn of cm.connections()) this.addPeer(conn.remotePeer);
    this.scheduleHeartbeat();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.offs.splice(0)) off();
    this.c.connections.unhandle(GOSSIP_PROTOCOL);
    for (const st of this.peers.values()) {
      st.out?.destroy();
      for (const s of st.inbound) s.destroy();
    }
    this.peers.clear();
    this.meshes.clear();
  }

  private scheduleHeartbeat(): void {
    this.timer = this.clock.setTimeout(() => {
      if (!this.running) return;
      try {
        this.heartbeat();
      } catch (err) {
        this.log.warn({ err: String(err) }, 'heartbeat failed');
      }
      this.scheduleHeartbeat();
    }, this.o.heartbeatMs);
  }

  private peerState(peer: PeerId): PeerState {
    const key = peer.toString();
    let st = this.peers.get(key);
    if (st === undefined) {
      st = {
        peer,
        key,
        topics: new Set(),
        out: undefined,
        inbound: new Set(),
        opening: false,
        backlog: [],
        msgsThisBeat: 0,
        iwantThisBeat: 0,
        backoff: new Map(),
      };
      this.peers.set(key, st);
    }
    return st;
  }

  private addPeer(peer: PeerId): void {
    if (!this.running) return;
    void this.ensureStream(this.peerState(peer));
  }

  private connectionClosed(conn: Connection): void {
    if (this.c.connections.connections(conn.remotePeer).length > 0) return;
    const key = conn.remotePeer.toString();
    const st = this.peers.get(key);
    if (st === undefined) return;
    st.out?.destroy();
    this.peers.delete(key);
    for (const mesh of this.meshes.values()) mesh.delete(key);
  }

  private async ensureStream(st: PeerState): Promise<void> {
    if (st.out !== undefined || st.opening) return;
    st.opening = true;
    try {
      const conn = this.c.connections.connections(st.peer)[0];
      if (conn === undefined) return;
      const stream = await conn.newStream(GOSSIP_PROTOCOL);
      stream.on('error', () => {});
      stream.once('close', () => {
        if (st.out === stream) st.out = undefined;
      });
      st.out = stream;
      // Every new stream starts with our subscriptions.
      if (this.subs.size > 0) {
        this.writeOut(
          st,
          frameBytes(MessageType.GossipRpc, {
            subscriptions: [...this.subs.keys()]
              .slice(0, 64)
              .map((topic) => ({ subscribe: true, topic })),
          }),
        );
      }
      for (const frame of st.backlog.splice(0)) this.writeOut(st, frame);
    } catch (err) {
      this.log.debug({ peer: st.key, err: String(err) }, 'gossip stream failed');
      st.backlog.length = 0;
    } finally {
      st.opening = false;
    }
  }

  private writeOut(st: PeerState, frame: Uint8Array): void {
    const s = st.out;
    if (s === undefined) return;
    if (s.writableLength > MAX_BUFFERED_BYTES) {
      // Gossip is lossy under overload: a slow peer loses messages rather than our memory.
      this.counters.dropped++;
      return;
    }
    writeBytes(s, frame).catch(() => {});
  }

  private sendRpc(st: PeerState, rpc: GossipRpcInit): void {
    let frame: Uint8Array;
    try {
      frame = frameBytes(MessageType.GossipRpc, rpc);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'cannot encode RPC');
      return;
    }
    if (st.out !== undefined) this.writeOut(st, frame);
    else {
      if (st.backlog.length < 1024) st.backlog.push(frame);
      void this.ensureStream(st);
    }
  }

  private async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const st = this.peerState(conn.remotePeer);
    stream.on('error', () => {});
    st.inbound.add(stream);
    stream.once('close', () => st.inbound.delete(stream));
    void this.ensureStream(st);
    try {
      for await (const { type, message } of readMessages(
        stream,
        [MessageType.GossipRpc],
        4 * 1024 * 1024,
      )) {
        if (type !== MessageType.GossipRpc) continue;
        if (this.scores.score(st.key) < this.o.graylistThreshold) continue;
        await this.handleRpc(st, message);
      }
    } catch (err) {
      if (isHostile(err)) {
        this.counters.invalid++;
        this.reporter.penalize(st.peer, 'invalid-message');
      }
      stream.reset(err instanceof Error ? err : undefined);
    }
  }

  private async handleRpc(st: PeerState, rpc: GossipRpc): Promise<void> {
    for (const sub of rpc.subscriptions) {
      if (sub.subscribe) {
        if (st.topics.size < 1024) st.topics.add(sub.topic);
      } else {
        st.topics.delete(sub.topic);
        this.meshes.get(sub.topic)?.delete(st.key);
      }
    }
    for (const m of rpc.messages) await this.handleMessage(st, m);
    if (rpc.control !== undefined) this.handleControl(st, rpc.control);
  }

  private async handleMessage(st: PeerState, m: GossipMessage): Promise<void> {
    if (++st.msgsThisBeat > this.o.maxMessagesPerHeartbeat) {
      this.counters.dropped++;
      if (st.msgsThisBeat === this.o.maxMessagesPerHeartbeat + 1) {
        this.reporter.penalize(st.peer, 'rate-limit');
      }
      return;
    }
    const id = hex(m.messageId);
    if (this.seen.has(id)) {
      this.counters.duplicates++;
      return;
    }
    const env = m.signed;
    let pub: GossipPublish;
    let from: PeerId;
    try {
      if (env.payloadType !== PUBLISH_TYPE) throw new RangeError('not a GossipPublish');
      if (hex(messageIdOf(env.body)) !== id) throw new RangeError('message id mismatch');
      pub = GossipPublish.decode(env.body);
      from = this.c.peerIdFromBytes(pub.from);
      if (Buffer.compare(from.publicKey, env.signer) !== 0)
        throw new RangeError('signer is not the publisher');
      if (
        !verifySignature(env.signer, envelopeSigningBytes(env.payloadType, env.body), env.signature)
      ) {
        throw new RangeError('bad signature');
      }
      if (pub.data.length > this.o.maxDataBytes) throw new RangeError('message too large');
    } catch (err) {
      this.counters.invalid++;
      this.scores.penalty(st.key);
      this.reporter.penalize(st.peer, 'invalid-message');
      this.log.debug({ peer: st.key, err: String(err) }, 'invalid gossip message');
      return;
    }
    this.seen.check(id, this.clock.now());
    if (!this.subs.has(pub.topic)) return;
    const msg: PubSubMessage = {
      topic: pub.topic,
      data: pub.data,
      from,
      via: st.peer,
      id,
      seqno: pub.seqno,
    };
    let verdict: Verdict = 'accept';
    const validator = this.validators.get(pub.topic);
    if (validator !== undefined) {
      try {
        verdict = await validator(msg);
      } catch {
        verdict = 'ignore';
      }
    }
    if (verdict === 'reject') {
      this.counters.rejected++;
      this.scores.invalid(st.key, pub.topic);
      this.reporter.penalize(st.peer, 'invalid-message');
      if (this.scores.score(st.key, pub.topic) < 0) this.pruneFromMesh(st, pub.topic);
      return;
    }
    if (verdict === 'ignore') {
      this.counters.ignored++;
      return;
    }
    this.scores.firstDelivery(st.key, pub.topic);
    this.mcache.put(id, { topic: pub.topic, message: { messageId: m.messageId, signed: env } });
    this.deliver(msg);
    this.forward(
      pub.topic,
      { messageId: m.messageId, signed: env },
      new Set([st.key, from.toString()]),
    );
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

  private forward(topic: string, message: GossipMessageInit, exclude: Set<string>): number {
    const targets = this.meshes.get(topic) ?? new Set<string>();
    let n = 0;
    for (const key of targets) {
      if (exclude.has(key)) continue;
      const st = this.peers.get(key);
      if (st === undefined) continue;
      this.sendRpc(st, { messages: [message] });
      n++;
    }
    this.counters.forwarded += n;
    return n;
  }

  private pruneFromMesh(st: PeerState, topic: string): void {
    const mesh = this.meshes.get(topic);
    if (mesh?.delete(st.key) === true) {
      this.counters.prunes++;
      st.backoff.set(topic, this.clock.now() + this.o.pruneBackoffSec * 1000);
      this.sendRpc(st, { control: { prune: [{ topic, backoffSec: this.o.pruneBackoffSec }] } });
    }
  }

  private handleControl(st: PeerState, control: NonNullable<GossipRpc['control']>): void {
    const reply: GossipControlInit & {
      iwant: { messageIds: Uint8Array[] }[];
      prune: { topic: string; backoffSec: number }[];
    } = {
      iwant: [],
      prune: [],
    };
    const now = this.clock.now();
    for (const g of control.graft) {
      const mesh = this.meshes.get(g.topic);
      const backedOff = (st.backoff.get(g.topic) ?? 0) > now;
      if (
        mesh === undefined ||
        backedOff ||
        this.scores.score(st.key, g.topic) < 0 ||
        mesh.size >= this.o.Dhi
      ) {
        if (backedOff) this.scores.penalty(st.key);
        reply.prune.push({ topic: g.topic, backoffSec: this.o.pruneBackoffSec });
        continue;
      }
      st.topics.add(g.topic);
      mesh.add(st.key);
    }
    for (const p of control.prune) {
      this.meshes.get(p.topic)?.delete(st.key);
      st.backoff.set(p.topic, now + Math.min(p.backoffSec, 3600) * 1000);
    }
    const want: Uint8Array[] = [];
    for (const ih of control.ihave) {
      if (!this.subs.has(ih.topic)) continue;
      for (const mid of ih.messageIds) {
        if (want.length >= this.o.maxIWantPerHeartbeat) break;
        if (!this.seen.has(hex(mid))) want.push(mid);
      }
    }
    if (want.length > 0) reply.iwant.push({ messageIds: want });
    const send: GossipMessageInit[] = [];
    for (const iw of control.iwant) {
      for (const mid of iw.messageIds) {
        if (st.iwantThisBeat >= this.o.maxIWantPerHeartbeat) break;
        const hit = this.mcache.get(hex(mid));
        if (hit === undefined) continue;
        st.iwantThisBeat++;
        send.push(hit.message);
      }
    }
    for (let i = 0; i < send.length; i += 64) {
      this.sendRpc(st, { messages: send.slice(i, i + 64) });
      this.counters.iwantServed += Math.min(64, send.length - i);
    }
    if (reply.iwant.length > 0 || reply.prune.length > 0) this.sendRpc(st, { control: reply });
  }

  private heartbeat(): void {
    const now = this.clock.now();
    this.scores.decay();
    this.seen.expire(now);
    for (const st of this.peers.values()) {
      st.msgsThisBeat = 0;
      st.iwantThisBeat = 0;
      for (const [t, until] of st.backoff) if (until <= now) st.backoff.delete(t);
    }
    for (const [topic, mesh] of this.meshes) {
      for (const key of [...mesh]) {
        const st = this.peers.get(key);
        if (st === undefined || !st.topics.has(topic)) mesh.delete(key);
        else if (this.scores.score(key, topic) < 0) this.pruneFromMesh(st, topic);
      }
      if (mesh.size < this.o.Dlo) {
        const candidates = [...this.peers.values()].filter(
          (st) =>
            st.topics.has(topic) &&
            !mesh.has(st.key) &&
            !st.backoff.has(topic) &&
            this.scores.score(st.key, topic) >= 0,
        );
        shuffle(candidates);
        for (const st of candidates.slice(0, this.o.D - mesh.size)) {
          mesh.add(st.key);
          this.counters.grafts++;
          this.sendRpc(st, { control: { graft: [{ topic }] } });
        }
      } else if (mesh.size > this.o.Dhi) {
        const members = [...mesh];
        members.sort((a, b) => this.scores.score(a, topic) - this.scores.score(b, topic));
        for (const key of members.slice(0, mesh.size - this.o.D)) {
          const st = this.peers.get(key);
          if (st !== undefined) this.pruneFromMesh(st, topic);
        }
      }
      const ids = this.mcache.gossipIds(topic);
      if (ids.length > 0) {
        const lazy = [...this.peers.values()].filter(
          (st) =>
            st.topics.has(topic) && !mesh.has(st.key) && this.scores.score(st.key, topic) >= 0,
        );
        shuffle(lazy);
        const messageIds = ids.slice(-5000).map((id) => Buffer.from(id, 'hex'));
        for (const st of lazy.slice(0, this.o.Dlazy)) {
          this.sendRpc(st, { control: { ihave: [{ topic, messageIds }] } });
        }
      }
    }
    this.mcache.shift();
  }

  subscribe(topic: string, handler: TopicHandler): () => void {
    checkTopic(topic);
    let set = this.subs.get(topic);
    if (set === undefined) {
      this.subs.set(topic, (set = new Set()));
      this.meshes.set(topic, new Set());
      for (const st of this.peers.values())
        this.sendRpc(st, { subscriptions: [{ subscribe: true, topic }] });
      if (this.running) this.heartbeatTopic();
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.subs.get(topic) === set) {
        this.subs.delete(topic);
        const mesh = this.meshes.get(topic);
        this.meshes.delete(topic);
        for (const st of this.peers.values()) {
          const control =
            mesh?.has(st.key) === true
              ? { prune: [{ topic, backoffSec: this.o.pruneBackoffSec }] }
              : undefined;
          this.sendRpc(st, {
            subscriptions: [{ subscribe: false, topic }],
            ...(control ? { control } : {}),
          });
        }
      }
    };
  }

  /** Runs mesh maintenance soon (after a subscription) instead of waiting a full heartbeat. */
  private heartbeatTopic(): void {
    this.clock.setTimeout(
      () => {
        if (this.running) this.heartbeat();
      },
      Math.min(100, this.o.heartbeatMs),
    );
  }

  setValidator(topic: string, validator: TopicValidator | undefined): void {
    checkTopic(topic);
    if (validator === undefined) this.validators.delete(topic);
    else this.validators.set(topic, validator);
  }

  publish(topic: string, data: Uint8Array): Promise<{ id: string; recipients: number }> {
    checkTopic(topic);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (data.length > this.o.maxDataBytes)
      throw new RangeError(`data exceeds ${this.o.maxDataBytes} bytes`);
    const identity = this.c.identity;
    const body = GossipPublish.encode({
      topic,
      from: identity.peerId.bytes,
      seqno: ++this.seqno,
      data,
    });
    const signed = {
      payloadType: PUBLISH_TYPE,
      body,
      signer: identity.peerId.publicKey,
      signature: identity.sign(envelopeSigningBytes(PUBLISH_TYPE, body)),
    };
    const messageId = messageIdOf(body);
    const id = hex(messageId);
    this.seen.check(id, this.clock.now());
    const message = { messageId, signed };
    this.mcache.put(id, { topic, message });
    this.counters.published++;
    let recipients: number;
    if (this.o.floodPublish || this.subs.has(topic) === false) {
      recipients = 0;
      for (const st of this.peers.values()) {
        if (!st.topics.has(topic) || this.scores.score(st.key, topic) < this.o.graylistThreshold)
          continue;
        this.sendRpc(st, { messages: [message] });
        recipients++;
      }
    } else {
      recipients = this.forward(topic, message, new Set());
    }
    if (this.subs.has(topic)) {
      this.deliver({
        topic,
        data,
        from: identity.peerId,
        via: identity.peerId,
        id,
        seqno: this.seqno,
      });
    }
    return Promise.resolve({ id, recipients });
  }

  mesh(topic: string): string[] {
    return [...(this.meshes.get(topic) ?? [])];
  }

  topicPeers(topic: string): string[] {
    return [...this.peers.values()].filter((st) => st.topics.has(topic)).map((st) => st.key);
  }

  score(peer: PeerId, topic?: string): number {
    return this.scores.score(peer.toString(), topic);
  }

  stats(): PubSubStats {
    return { ...this.counters };
  }
}

function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || Buffer.byteLength(topic) > 256) {
    throw new TypeError('topics have 1–256 bytes');
  }
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
}

/** A message's id: the first 20 bytes of SHA-256 over its signed body. */
export function messageIdOf(body: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(body).digest().subarray(0, 20));
}

/**
 * Creates gossip pub/sub.
 *
 * @throws {RangeError} unless Dlo ≤ D ≤ Dhi
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
