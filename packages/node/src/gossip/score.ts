// Per-topic peer scores (a small subset of GossipSub v1.1's): first deliveries count up to a cap,
// invalid messages count quadratically against, both decay every heartbeat. A peer's score is
// its lowest topic score plus its global (non-topic) penalties.

interface TopicCounters {
  first: number;
  invalid: number;
}

const FIRST_WEIGHT = 0.5;
const FIRST_CAP = 20;
const INVALID_WEIGHT = -10;
const DECAY = 0.9;
const FORGET = 0.01;
/** Key of non-topic counters; topics are never empty, so it cannot clash. */
const GLOBAL = '';

export class PeerScores {
  private readonly peers = new Map<string, Map<string, TopicCounters>>();

  private counters(peer: string, topic: string): TopicCounters {
    let topics = this.peers.get(peer);
    if (topics === undefined) this.peers.set(peer, (topics = new Map<string, TopicCounters>()));
    let c = topics.get(topic);
    if (c === undefined) {
      if (topics.size >= 256) return { first: 0, invalid: 0 };
      topics.set(topic, (c = { first: 0, invalid: 0 }));
    }
    return c;
  }

  firstDelivery(peer: string, topic: string): void {
    const c = this.counters(peer, topic);
    c.first = Math.min(FIRST_CAP, c.first + 1);
  }

  /** A penalty that is not about one topic (malformed message, graft during backoff). */
  penalty(peer: string): void {
    this.counters(peer, GLOBAL).invalid += 1;
  }

  invalid(peer: string, topic: string): void {
    this.counters(peer, topic).invalid += 1;
  }

  /** Score for `topic`, or the peer's overall score (lowest topic score) without one. */
  score(peer: string, topic?: string): number {
    const topics = this.peers.get(peer);
    if (topics === undefined) return 0;
    const of = (c: TopicCounters): number =>
      FIRST_WEIGHT * c.first + INVALID_WEIGHT * c.invalid * c.invalid;
    if (topic !== undefined) {
      const c = topics.get(topic);
      const g = topics.get(GLOBAL);
      // Non-topic penalties count against every topic.
      return (c === undefined ? 0 : of(c)) + (g === undefined ? 0 : of(g));
    }
    let min = 0;
    let first = true;
    for (const c of topics.values()) {
      const s = of(c);
      if (first || s < min) min = s;
      first = false;
    }
    return min;
  }

  decay(): void {
    for (const [peer, topics] of this.peers) {
      for (const [t, c] of topics) {
        c.first *= DECAY;
        c.invalid *= DECAY;
        if (c.first < FORGET && c.invalid < FORGET) topics.delete(t);
      }
      if (topics.size === 0) this.peers.delete(peer);
    }
  }
}
