// The receive path: subscriptions announced by a peer, then every message it sends: rate limits,
// the seen-cache, the checks of message.ts, the per-publisher limit, the topic's validator, then
// delivery and forwarding along the mesh. Every failure is a silent drop, counted; the hostile
// ones also lower the peer's topic score and are reported to dpeers.
import type { Clock, Logger, PeerId, PeerReporter, Timer } from '@detr/interface';
import type { GossipMessage, GossipMessageInit, GossipRpc } from '@detr/protocol';
import type { MessageCache, SeenCache } from './cache.js';
import { checkMessage, type CheckedMessage } from './message.js';
import type { PeerState } from './peers.js';
import type { MeshRouter } from './router.js';
import type { PeerScores } from './score.js';
import type {
  PubSubMessage,
  PubSubOptions,
  PubSubStats,
  TopicValidator,
  Verdict,
} from './types.js';

/** What the receive path works on. */
export interface InboundContext {
  readonly o: PubSubOptions;
  readonly router: MeshRouter;
  readonly scores: PeerScores;
  readonly seen: SeenCache;
  readonly mcache: MessageCache;
  readonly reporter: PeerReporter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: PubSubStats;
  readonly peerIdFromBytes: (b: Uint8Array) => PeerId;
  readonly validators: ReadonlyMap<string, TopicValidator>;
  subscribed(topic: string): boolean;
  deliver(msg: PubSubMessage): void;
  forward(topic: string, message: GossipMessageInit, ...exclude: string[]): number;
}

/** Handles the RPCs peers send. */
export class Inbound {
  /** Publisher → messages accepted from it this heartbeat. */
  private readonly perPublisher = new Map<string, number>();

  constructor(private readonly x: InboundContext) {}

  /** Resets the per-heartbeat counters. */
  heartbeat(): void {
    this.perPublisher.clear();
  }

  async handleRpc(st: PeerState, rpc: GossipRpc): Promise<void> {
    const { o, router } = this.x;
    for (const sub of rpc.subscriptions) {
      if (sub.subscribe) {
        if (st.topics.size < o.maxPeerTopics) st.topics.add(sub.topic);
        else if (!st.topics.has(sub.topic) && !st.tooManyTopics) {
          st.tooManyTopics = true;
          this.x.reporter.penalize(st.peer, 'rate-limit');
        }
      } else {
        st.topics.delete(sub.topic);
        router.meshes.get(sub.topic)?.delete(st.key);
      }
    }
    for (const m of rpc.messages) await this.handleMessage(st, m);
    if (rpc.control !== undefined) router.handleControl(st, rpc.control);
  }

  /** Counts a bad message (malformed, forged: no topic; rejected: its topic) against `st`. */
  private penalise(st: PeerState, why: string, topic?: string): void {
    if (topic === undefined) {
      this.x.counters.invalid++;
      this.x.scores.penalty(st.key);
    } else {
      this.x.counters.rejected++;
      this.x.scores.invalid(st.key, topic);
    }
    this.x.reporter.penalize(st.peer, 'invalid-message');
    this.x.log.debug({ peer: st.key, why }, 'invalid gossip message');
  }

  private async handleMessage(st: PeerState, m: GossipMessage): Promise<void> {
    const { o, counters, scores } = this.x;
    if (++st.msgsThisBeat > o.maxMessagesPerHeartbeat) {
      counters.dropped++;
      if (st.msgsThisBeat === o.maxMessagesPerHeartbeat + 1) {
        scores.penalty(st.key);
        this.x.reporter.penalize(st.peer, 'rate-limit');
      }
      return;
    }
    if (this.x.seen.has(Buffer.from(m.messageId).toString('hex'))) {
      counters.duplicates++;
      return;
    }
    let checked: CheckedMessage;
    try {
      checked = checkMessage(m, this.x.peerIdFromBytes, o.maxDataBytes, (topic) =>
        this.x.subscribed(topic),
      );
    } catch (err) {
      this.penalise(st, String(err));
      return;
    }
    // Not our topic: dropped before the signature check (GossipSub relays no foreign topics).
    if (!checked.verified) return;
    const { id, publish: pub, from } = checked;
    // Only a message whose signature holds enters the seen-cache: a forged copy must not shadow
    // the real one.
    this.x.seen.check(id, this.x.clock.now());
    this.x.router.fulfilled(id);
    const origin = from.toString();
    const n = (this.perPublisher.get(origin) ?? 0) + 1;
    this.perPublisher.set(origin, n);
    if (n > o.maxPublisherMessagesPerHeartbeat) {
      counters.ignored++;
      return;
    }
    const msg: PubSubMessage = {
      topic: pub.topic,
      data: pub.data,
      from,
      via: st.peer,
      id,
      seqno: pub.seqno,
    };
    const verdict = await this.validate(msg);
    if (verdict === 'reject') {
      this.penalise(st, 'rejected by the validator', pub.topic);
      if (scores.score(st.key, pub.topic) < 0) this.x.router.prune(st, pub.topic);
      return;
    }
    if (verdict === 'ignore') {
      counters.ignored++;
      return;
    }
    scores.firstDelivery(st.key, pub.topic);
    st.firstThisBeat++;
    const message: GossipMessageInit = { messageId: m.messageId, signed: m.signed };
    this.x.mcache.put(id, { topic: pub.topic, message });
    this.x.deliver(msg);
    this.x.forward(pub.topic, message, st.key, origin);
  }

  /** The topic validator's verdict; a throw, a bad value or a timeout counts as 'ignore'. */
  private async validate(msg: PubSubMessage): Promise<Verdict> {
    const validator = this.x.validators.get(msg.topic);
    if (validator === undefined) return 'accept';
    let timer: Timer | undefined;
    try {
      const result = validator(msg);
      if (typeof result === 'string') return checkVerdict(result);
      const timeout = new Promise<Verdict>((resolve) => {
        timer = this.x.clock.setTimeout(() => resolve('ignore'), this.x.o.validateTimeoutMs);
      });
      return checkVerdict(await Promise.race([result, timeout]));
    } catch {
      return 'ignore';
    } finally {
      timer?.cancel();
    }
  }
}

function checkVerdict(v: unknown): Verdict {
  return v === 'accept' || v === 'reject' ? v : 'ignore';
}
