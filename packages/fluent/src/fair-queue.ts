import type { QueueAddOptions } from 'p-queue';
import { type ChannelState, type Entry, type PeerLike, listPush, listRemove } from './entry.js';
import { PRIORITIES } from './priority.js';
import { Ring } from './ring.js';

/** The options the scheduler passes to `PQueue.add()`: p-queue's, plus our entry. */
export type FluentAddOptions = QueueAddOptions & { entry: Entry };

type RunFunction = () => Promise<unknown>;

/** Callbacks from the fair queue into the scheduler. */
export interface FairQueueHooks {
  /** False while the global quota is exhausted. */
  gateOpen(): boolean;
  /** Whether the peer may send now (open, within its quota and in-flight limit). */
  eligible(peer: PeerLike): boolean;
  /** Bookkeeping for the entry just taken out (quotas, in-flight, stats). */
  taken(entry: Entry): void;
}

const LEVELS = PRIORITIES.length;

/**
 * The queue class plugged into p-queue (its documented `queueClass` extension point): p-queue
 * runs the tasks, bounds the global concurrency and plumbs the promises; this class decides which
 * message goes next.
 *
 * - Strict priority: a level is served only when no more urgent level has a sendable message.
 * - Within a level, round robin over peers (one message per turn), and within a peer, round robin
 *   over its channels: a flooding peer or channel gets one turn like everybody else.
 * - A peer that is over quota or has `maxInFlightPerPeer` sends pending, and a channel that is over
 *   quota, is skipped (lazily taken off the rings) and put back by {@link activatePeer} /
 *   {@link activateChannel}, so one blocked peer or channel never holds up the others.
 *
 * `size` is the number of queued messages when at least one of them may go now, and 0 otherwise,
 * because p-queue calls `dequeue()` whenever `size` is positive.
 */
export class FairQueue {
  private readonly ready: Array<Ring<PeerLike>> = PRIORITIES.map(() => new Ring<PeerLike>());
  private count = 0;

  constructor(private readonly hooks: FairQueueHooks) {}

  enqueue(run: RunFunction, options?: Partial<FluentAddOptions>): void {
    const entry = options?.entry;
    if (entry === undefined) throw new TypeError('FairQueue: missing entry');
    entry.run = run;
    const ch = entry.channel;
    listPush(ch.fifo[entry.level] as (typeof ch.fifo)[number], entry);
    this.count++;
    this.placeChannel(ch, entry.level);
  }

  /** Takes a queued entry out without running it (abort, drop, close). */
  unlink(entry: Entry): void {
    listRemove(entry.channel.fifo[entry.level] as (typeof entry.channel.fifo)[number], entry);
    entry.run = undefined;
    this.count--;
  }

  /** Puts a peer that may send again back on the rings of every level where it has messages. */
  activatePeer(peer: PeerLike): void {
    for (let level = 0; level < LEVELS; level++) {
      if ((peer.depthAt[level] as number) > 0 && peer.inReady[level] !== true) {
        peer.inReady[level] = true;
        (this.ready[level] as Ring<PeerLike>).push(peer);
      }
    }
  }

  /** Puts a channel that may send again back on its peer's rings. */
  activateChannel(ch: ChannelState): void {
    for (let level = 0; level < LEVELS; level++) {
      if ((ch.fifo[level]?.length as number) > 0) this.placeChannel(ch, level);
    }
  }

  private placeChannel(ch: ChannelState, level: number): void {
    if (ch.inRing[level] !== true) {
      ch.inRing[level] = true;
      (ch.peer.rings[level] as Ring<ChannelState>).push(ch);
    }
    const peer = ch.peer;
    if (peer.inReady[level] !== true) {
      peer.inReady[level] = true;
      (this.ready[level] as Ring<PeerLike>).push(peer);
    }
  }

  /** The channel whose head message goes next, at `level`, dropping stale ring entries. */
  private headAt(level: number): ChannelState | undefined {
    const ring = this.ready[level] as Ring<PeerLike>;
    for (;;) {
      const peer = ring.peek();
      if (peer === undefined) return undefined;
      if (this.hooks.eligible(peer)) {
        const channels = peer.rings[level] as Ring<ChannelState>;
        for (;;) {
          const ch = channels.peek();
          if (ch === undefined) break;
          if (!ch.blocked && (ch.fifo[level]?.length as number) > 0) return ch;
          channels.shift();
          ch.inRing[level] = false;
        }
      }
      ring.shift();
      peer.inReady[level] = false;
    }
  }

  private next(): { ch: ChannelState; level: number } | undefined {
    if (this.count === 0 || !this.hooks.gateOpen()) return undefined;
    for (let level = 0; level < LEVELS; level++) {
      const ch = this.headAt(level);
      if (ch !== undefined) return { ch, level };
    }
    return undefined;
  }

  get size(): number {
    return this.next() === undefined ? 0 : this.count;
  }

  dequeue(): RunFunction | undefined {
    const found = this.next();
    if (found === undefined) return undefined;
    const { ch, level } = found;
    const entry = (ch.fifo[level] as (typeof ch.fifo)[number]).head as Entry;
    const run = entry.run;
    this.unlink(entry);
    // Rotate: this channel to the back of its peer's ring, this peer to the back of the level's.
    const peer = ch.peer;
    (peer.rings[level] as Ring<ChannelState>).shift();
    ch.inRing[level] = false;
    (this.ready[level] as Ring<PeerLike>).shift();
    peer.inReady[level] = false;
    if ((ch.fifo[level]?.length as number) > 0) this.placeChannel(ch, level);
    this.hooks.taken(entry);
    if (peer.depthAt[level] as number) this.activatePeer(peer);
    return run;
  }

  /** p-queue calls this only for tasks added with its own `signal`, which we never pass. */
  remove(_id: string): void {}

  /** p-queue's `sizeBy()`; counts are kept by the scheduler, so this lists nothing. */
  filter(_options: Readonly<Partial<FluentAddOptions>>): RunFunction[] {
    return [];
  }

  setPriority(_id: string, _priority: number): void {
    throw new TypeError('FairQueue does not support setPriority');
  }

  /** Forgets every ring (the scheduler stopped; its entries were settled by their queues). */
  reset(): void {
    for (const ring of this.ready) ring.clear();
    this.count = 0;
  }
}
