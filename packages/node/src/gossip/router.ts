// Mesh maintenance and control messages: per topic a mesh kept in [Dlo, Dhi] (at D after a
// correction) by the heartbeat, GRAFT/PRUNE with backoff, IHAVE of recent ids to Dlazy non-mesh
// peers, IWANT answered from the message cache, and "promises": ids we asked a peer for after its
// IHAVE that never arrived count against it.
import type { Clock, PeerReporter } from '@detr/interface';
import type { GossipControlInit, GossipRpc, GossipMessageInit } from '@detr/protocol';
import type { MessageCache, SeenCache } from './cache.js';
import { hex, shuffle } from './message.js';
import type { GossipLinks, PeerState } from './peers.js';
import type { PeerScores } from './score.js';
import type { PubSubOptions, PubSubStats } from './types.js';

type Control = NonNullable<GossipRpc['control']>;

/** Messages per RPC when answering IWANT (the protocol's limit). */
const IWANT_BATCH = 64;
/** Bytes of messages per IWANT answer RPC: well under the 4 MiB RPC frames peers accept. */
const IWANT_BATCH_BYTES = 3 * 1024 * 1024;

/** Shared state of one pub/sub instance that the router works on. */
export interface RouterContext {
  readonly o: PubSubOptions;
  readonly links: GossipLinks;
  readonly scores: PeerScores;
  readonly seen: SeenCache;
  readonly mcache: MessageCache;
  readonly reporter: PeerReporter;
  readonly clock: Clock;
  readonly random: () => number;
  readonly counters: PubSubStats;
}

/** Meshes and control traffic. */
export class MeshRouter {
  /** Topic → mesh peer keys; exists exactly for the topics we subscribe to. */
  readonly meshes = new Map<string, Set<string>>();
  /** Message id → [peer key we asked, deadline]. */
  private readonly promises = new Map<string, [string, number]>();

  constructor(private readonly x: RouterContext) {}

  join(topic: string): void {
    if (!this.meshes.has(topic)) this.meshes.set(topic, new Set());
  }

  /** Leaves `topic`; returns its mesh (the caller tells those peers with a PRUNE). */
  leave(topic: string): Set<string> {
    const mesh = this.meshes.get(topic) ?? new Set<string>();
    this.meshes.delete(topic);
    return mesh;
  }

  /** The peer left (or its connection closed). */
  forget(key: string): void {
    for (const mesh of this.meshes.values()) mesh.delete(key);
  }

  /** A message with this id arrived: whoever promised it is off the hook. */
  fulfilled(id: string): void {
    this.promises.delete(id);
  }

  /** Removes `st` from the mesh of `topic` and tells it, with our backoff. */
  prune(st: PeerState, topic: string): void {
    const mesh = this.meshes.get(topic);
    if (mesh?.delete(st.key) !== true) return;
    this.x.counters.prunes++;
    st.backoff.set(topic, this.x.clock.now() + this.x.o.pruneBackoffSec * 1000);
    this.x.links.send(st, {
      control: { prune: [{ topic, backoffSec: this.x.o.pruneBackoffSec }] },
    });
  }

  /** Mesh peers of `topic` (keys). */
  meshPeers(topic: string): Iterable<string> {
    return this.meshes.get(topic) ?? [];
  }

  handleControl(st: PeerState, control: Control): void {
    const { o, scores, clock } = this.x;
    const prune: { topic: string; backoffSec: number }[] = [];
    const now = clock.now();
    for (const g of control.graft) {
      const mesh = this.meshes.get(g.topic);
      if (mesh === undefined) {
        // Not our topic: refuse, no penalty (it may have raced our unsubscribe).
        prune.push({ topic: g.topic, backoffSec: o.pruneBackoffSec });
        continue;
      }
      const backedOff = (st.backoff.get(g.topic) ?? 0) > now;
      if (backedOff) {
        // GRAFT during our backoff breaks the protocol: refuse and count it.
        scores.penalty(st.key);
        this.x.reporter.penalize(st.peer, 'protocol-violation', 0.25);
      }
      if (backedOff || scores.score(st.key, g.topic) < 0 || mesh.size >= o.Dhi) {
        prune.push({ topic: g.topic, backoffSec: o.pruneBackoffSec });
        continue;
      }
      if (st.topics.size < o.maxPeerTopics) st.topics.add(g.topic);
      if (st.topics.has(g.topic)) mesh.add(st.key);
    }
    for (const p of control.prune) {
      this.meshes.get(p.topic)?.delete(st.key);
      if (this.meshes.has(p.topic)) {
        st.backoff.set(p.topic, now + Math.min(Math.max(p.backoffSec, 1), 3600) * 1000);
      }
    }
    const iwant = this.answerIHave(st, control);
    this.answerIWant(st, control);
    if (iwant.length > 0 || prune.length > 0) {
      const reply: GossipControlInit = {};
      if (iwant.length > 0) reply.iwant = [{ messageIds: iwant }];
      if (prune.length > 0) reply.prune = prune;
      this.x.links.send(st, { control: reply });
    }
  }

  /** Ids of `st`'s IHAVEs we have not seen, within the per-heartbeat limits. */
  private answerIHave(st: PeerState, control: Control): Uint8Array[] {
    const { o, seen } = this.x;
    const want: Uint8Array[] = [];
    if (control.ihave.length === 0 || this.x.scores.score(st.key) < 0) return want;
    if (++st.ihaveThisBeat > o.maxIHavePerHeartbeat) return want;
    const deadline = this.x.clock.now() + o.iwantFollowupMs;
    for (const ih of control.ihave) {
      if (!this.meshes.has(ih.topic)) continue;
      for (const mid of ih.messageIds) {
        if (st.iwantAskedThisBeat >= o.maxIWantPerHeartbeat) return want;
        const id = hex(mid);
        if (seen.has(id) || this.promises.has(id)) continue;
        st.iwantAskedThisBeat++;
        // Bounded: at most maxIWantPerHeartbeat per peer per heartbeat, expired every heartbeat.
        this.promises.set(id, [st.key, deadline]);
        want.push(mid);
      }
    }
    return want;
  }

  /** Sends `st` the cached messages it asked for, within the per-heartbeat limit. */
  private answerIWant(st: PeerState, control: Control): void {
    const asked = new Set<string>();
    let batch: GossipMessageInit[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      this.x.links.send(st, { messages: batch });
      this.x.counters.iwantServed += batch.length;
      batch = [];
      bytes = 0;
    };
    for (const iw of control.iwant) {
      for (const mid of iw.messageIds) {
        if (st.iwantServedThisBeat >= this.x.o.maxIWantPerHeartbeat) break;
        const id = hex(mid);
        if (asked.has(id)) continue;
        asked.add(id);
        const hit = this.x.mcache.get(id);
        if (hit === undefined) continue;
        st.iwantServedThisBeat++;
        const size = (hit.message.signed.body?.length ?? 0) + 256;
        if (batch.length >= IWANT_BATCH || bytes + size > IWANT_BATCH_BYTES) flush();
        batch.push(hit.message);
        bytes += size;
      }
    }
    flush();
  }

  /** Periodic work: decay, counters, promises, mesh bounds, lazy gossip, cache windows. */
  heartbeat(): void {
    const { links, scores, clock, counters } = this.x;
    const now = clock.now();
    scores.decay();
    this.x.seen.expire(now);
    const broke = new Set<string>();
    for (const [id, [key, deadline]] of this.promises) {
      if (deadline > now) continue;
      this.promises.delete(id);
      counters.brokenPromises++;
      broke.add(key);
    }
    // One behaviour penalty per heartbeat for a peer that owes messages (a mistimed IWANT of an
    // honest peer costs little; a peer that advertises what it never sends keeps paying).
    for (const key of broke) {
      const st = links.peers.get(key);
      if (st === undefined) continue;
      scores.penalty(key);
      this.x.reporter.penalize(st.peer, 'timeout', 0.25);
    }
    for (const st of links.peers.values()) {
      if (st.firstThisBeat > 0) this.x.reporter.reward(st.peer, 'gossip-first-delivery', 0.1);
      st.msgsThisBeat = 0;
      st.iwantServedThisBeat = 0;
      st.iwantAskedThisBeat = 0;
      st.ihaveThisBeat = 0;
      st.firstThisBeat = 0;
      for (const [t, until] of st.backoff) if (until <= now) st.backoff.delete(t);
    }
    links.repair();
    for (const [topic, mesh] of this.meshes) this.maintain(topic, mesh);
    this.x.mcache.shift();
  }

  private maintain(topic: string, mesh: Set<string>): void {
    const { o, links, scores, counters } = this.x;
    for (const key of [...mesh]) {
      const st = links.peers.get(key);
      if (st === undefined || !st.topics.has(topic)) mesh.delete(key);
      else if (scores.score(key, topic) < 0) this.prune(st, topic);
    }
    if (mesh.size < o.Dlo) {
      const candidates = [...links.peers.values()].filter(
        (st) =>
          st.topics.has(topic) &&
          !mesh.has(st.key) &&
          !st.backoff.has(topic) &&
          scores.score(st.key, topic) >= 0,
      );
      for (const st of shuffle(candidates, this.x.random).slice(0, o.D - mesh.size)) {
        mesh.add(st.key);
        counters.grafts++;
        links.send(st, { control: { graft: [{ topic }] } });
      }
    } else if (mesh.size > o.Dhi) {
      // Keep the best-scoring D (random among equals).
      const members = shuffle([...mesh], this.x.random);
      members.sort((a, b) => scores.score(a, topic) - scores.score(b, topic));
      for (const key of members.slice(0, mesh.size - o.D)) {
        const st = links.peers.get(key);
        if (st !== undefined) this.prune(st, topic);
      }
    }
    const ids = this.x.mcache.gossipIds(topic);
    if (ids.length === 0) return;
    const lazy = [...links.peers.values()].filter(
      (st) => st.topics.has(topic) && !mesh.has(st.key) && scores.score(st.key, topic) >= 0,
    );
    const messageIds = ids.slice(-o.maxIHaveLength).map((id) => Buffer.from(id, 'hex'));
    for (const st of shuffle(lazy, this.x.random).slice(0, o.Dlazy)) {
      links.send(st, { control: { ihave: [{ topic, messageIds }] } });
    }
  }
}
