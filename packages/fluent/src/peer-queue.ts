import {
  AbortError,
  ClosedError,
  NotStartedError,
  type AbortOptions,
  type PeerId,
  type Timer,
} from '@detr/interface';
import { Channels } from './channels.js';
import { Drainers } from './drain.js';
import { checkMessage } from './validate.js';
import { Waiters } from './waiters.js';
import { CongestionTracker } from './congestion.js';
import type { Core } from './core.js';
import { ended, left, newCounters, queued, sent, toStats, type Outcome } from './counters.js';
import {
  type ChannelState,
  type Counters,
  type Entry,
  type List,
  type PeerLike,
  GONE,
  QUEUED,
  SENT,
  WAITING,
  ageRemove,
  agePush,
  newEntry,
  newList,
} from './entry.js';
import { MessageDroppedError, QueueFullError, SinkError } from './errors.js';
import { PRIORITIES, type Priority } from './priority.js';
import { TokenBucket, whenReady } from './rate-limit.js';
import { Ring } from './ring.js';
import type { OutboundMessage, PeerQueue, PeerQueueStats, Sink } from './types.js';

const LEVELS = PRIORITIES.length;

/** One peer's outbound queue: admission, waiters, quotas, congestion and stats. */
export class PeerQueueImpl implements PeerQueue, PeerLike {
  readonly rings = PRIORITIES.map(() => new Ring<ChannelState>());
  readonly inReady = PRIORITIES.map(() => false);
  readonly depthAt = PRIORITIES.map(() => 0);
  private readonly bytesAt = PRIORITIES.map(() => 0);
  /** Queued entries per level in arrival order (for drop-oldest and close). */
  private readonly age: List[] = PRIORITIES.map(newList);
  private readonly waiters = new Waiters();
  private readonly fitsFn = (level: number, bytes: number): boolean => this.fits(level, bytes);
  private readonly admitFn = (e: Entry): void => this.admit(e);
  private readonly channels: Channels;
  private readonly counters = newCounters();
  private readonly bucket: TokenBucket | undefined;
  private readonly congestion: CongestionTracker;
  private timer: Timer | undefined;
  private depth = 0;
  private bytes = 0;
  private readonly drainers = new Drainers();
  closed = false;
  blocked = false;
  inflight = 0;

  constructor(
    private readonly core: Core,
    readonly peer: PeerId,
    readonly key: string,
    public sink: Sink,
  ) {
    const limit = core.config.peerLimit;
    this.bucket = limit === undefined ? undefined : new TokenBucket(limit, core.clock.now());
    this.channels = new Channels(this, core.config, (name) => core.channelCounters(name));
    this.congestion = new CongestionTracker(
      core.clock,
      core.config,
      peer,
      () => ({ depth: this.depth, bytes: this.bytes, waiting: this.waiters.count }),
      (kind, event) => {
        core.congestedPeers += kind === 'start' ? 1 : -1;
        core.emit(kind === 'start' ? 'congestion:start' : 'congestion:end', event);
      },
    );
  }

  send(message: OutboundMessage, options: AbortOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('The peer queue is closed'));
    if (!this.core.running) return Promise.reject(new NotStartedError());
    const cfg = this.core.config;
    let level: number;
    let bytes: number;
    let channel: ChannelState;
    try {
      ({ level, bytes } = checkMessage(message, options, cfg.capBytes));
      channel = this.channels.get(message.channel, this.core.clock.now());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      const e = newEntry(message, level, bytes, this, channel, this.core.clock.now(), options);
      e.resolve = resolve;
      e.reject = reject;
      const clear = this.waiters.noneUpTo(level);
      if (clear && this.fits(level, bytes)) return this.admit(e);
      const policy = cfg.policy[level];
      if (policy === 'drop-oldest' && this.dropFor(level, bytes, !clear)) return this.admit(e);
      if (
        policy === 'wait' &&
        this.waiters.count < cfg.maxWaiting &&
        this.waiters.bytes + bytes <= cfg.maxWaitingBytes
      ) {
        return this.wait(e);
      }
      this.each(e, ended, 0, 'rejected');
      e.state = GONE;
      reject(new QueueFullError(`The ${PRIORITIES[level]} queue to this peer is full`));
    });
  }

  private fits(level: number, bytes: number): boolean {
    const cfg = this.core.config;
    return (
      this.depth < (cfg.capMessages[level] as number) &&
      this.bytes + bytes <= (cfg.capBytes[level] as number)
    );
  }

  /**
   * Drops the oldest messages of `level` until one of `bytes` fits; false (nothing dropped) if it
   * can't. With `replaceOnly` (more urgent callers are waiting) the new message may only take the
   * place of what it drops, never room those callers wait for.
   */
  private dropFor(level: number, bytes: number, replaceOnly: boolean): boolean {
    const cfg = this.core.config;
    const age = this.age[level] as List;
    let depth = this.depth;
    let total = this.bytes;
    let victims = 0;
    for (let v = age.head; ; v = v.anext) {
      const fits =
        depth < (cfg.capMessages[level] as number) &&
        total + bytes <= (cfg.capBytes[level] as number);
      if (fits && (!replaceOnly || (victims > 0 && total + bytes <= this.bytes))) break;
      if (v === undefined) return false;
      depth--;
      total -= v.bytes;
      victims++;
    }
    for (let i = 0; i < victims; i++) {
      this.removeQueued(age.head as Entry, new MessageDroppedError(), 'dropped', false);
    }
    return true;
  }

  private listen(e: Entry): void {
    if (e.signal !== undefined && e.onAbort === undefined) {
      e.onAbort = () => this.abort(e);
      e.signal.addEventListener('abort', e.onAbort, { once: true });
    }
  }

  private unlisten(e: Entry): void {
    if (e.onAbort !== undefined) {
      e.signal?.removeEventListener('abort', e.onAbort);
      e.onAbort = undefined;
    }
  }

  private wait(e: Entry): void {
    this.waiters.add(e);
    this.listen(e);
    this.updateCongestion();
  }

  private admit(e: Entry): void {
    e.state = QUEUED;
    agePush(this.age[e.level] as List, e);
    this.depth++;
    this.bytes += e.bytes;
    this.depthAt[e.level] = (this.depthAt[e.level] as number) + 1;
    this.bytesAt[e.level] = (this.bytesAt[e.level] as number) + e.bytes;
    e.channel.queued++;
    this.each(e, queued, e.bytes, 1);
    this.listen(e);
    void this.core.pq.add(() => this.dispatch(e), { priority: LEVELS - 1 - e.level, entry: e });
    this.updateCongestion();
  }

  /** Applies `op` to every stats scope of `e`: its priority, channel, peer, and the total. */
  private each<A, B>(e: Entry, op: (c: Counters, a: A, b: B) => void, a: A, b: B): void {
    op(this.core.levels[e.level] as Counters, a, b);
    op(e.channel.counters, a, b);
    op(this.counters, a, b);
    op(this.core.total, a, b);
  }

  private unqueue(e: Entry): void {
    ageRemove(this.age[e.level] as List, e);
    this.depth--;
    this.bytes -= e.bytes;
    this.depthAt[e.level] = (this.depthAt[e.level] as number) - 1;
    this.bytesAt[e.level] = (this.bytesAt[e.level] as number) - e.bytes;
    e.channel.queued--;
    this.unlisten(e);
  }

  private removeQueued(e: Entry, err: Error, outcome: Outcome, pump: boolean): void {
    this.core.fq.unlink(e);
    this.unqueue(e);
    this.each(e, left, e.bytes, outcome);
    e.state = GONE;
    e.reject(err);
    if (pump) this.pump();
    this.updateCongestion();
    this.checkDrain();
  }

  private abort(e: Entry): void {
    e.onAbort = undefined;
    const err = new AbortError(undefined, { cause: e.signal?.reason });
    if (e.state === QUEUED) return this.removeQueued(e, err, 'cancelled', true);
    if (e.state !== WAITING) return;
    this.waiters.remove(e);
    this.each(e, ended, 0, 'cancelled');
    e.state = GONE;
    e.reject(err);
    this.pump();
    this.updateCongestion();
    this.checkDrain();
  }

  /** Called by the fair queue when it takes `e` out to send it: quotas, in-flight, stats. */
  taken(e: Entry, now: number): void {
    e.state = SENT;
    this.unqueue(e);
    const waitMs = now - e.createdAt;
    this.each(e, sent, e.bytes, waitMs);
    this.inflight++;
    if (this.bucket !== undefined) {
      this.bucket.take(e.bytes, now);
      if (!this.bucket.ready(now)) this.blockPeer();
    }
    const ch = e.channel;
    if (ch.bucket !== undefined) {
      ch.bucket.take(e.bytes, now);
      if (!ch.bucket.ready(now)) this.blockChannel(ch);
    }
  }

  /** The p-queue task of `e`: runs right after {@link taken}. */
  private dispatch(e: Entry): void | PromiseLike<void> {
    let result: void | PromiseLike<void> = undefined;
    let threw = false;
    let error: unknown;
    try {
      result = this.sink(e.message);
    } catch (err) {
      threw = true;
      error = err;
    }
    // Only now, with this message in the sink, may room it left admit waiters: admitting one can
    // dispatch the next message at once, which must not reach the sink first.
    this.pump();
    this.updateCongestion();
    if (threw) return this.finish(e, true, error);
    if (result !== undefined && typeof result.then === 'function') {
      return result.then(
        () => this.finish(e, false, undefined),
        (err: unknown) => this.finish(e, true, err),
      );
    }
    this.finish(e, false, undefined);
  }

  private finish(e: Entry, failed: boolean, err: unknown): void {
    this.inflight--;
    if (!this.closed && this.inflight === this.core.config.maxInFlightPerPeer - 1) {
      this.core.fq.activatePeer(this);
    }
    e.state = GONE;
    if (failed) {
      this.each(e, ended, 0, 'failed');
      e.reject(err instanceof Error ? err : new SinkError(undefined, { cause: err }));
    } else {
      e.resolve();
    }
    this.checkDrain();
  }

  /** Admits waiters, most urgent first, while they fit (see {@link Waiters}). */
  private pump(): void {
    if (!this.closed) this.waiters.pump(this.fitsFn, this.admitFn);
  }

  private blockPeer(): void {
    this.blocked = true;
    this.timer = whenReady(
      this.core.clock,
      this.bucket as TokenBucket,
      () => this.closed,
      () => {
        this.timer = undefined;
        this.blocked = false;
        this.core.fq.activatePeer(this);
        this.core.kick();
      },
    );
  }

  private blockChannel(ch: ChannelState): void {
    ch.blocked = true;
    ch.timer = whenReady(
      this.core.clock,
      ch.bucket as TokenBucket,
      () => this.closed,
      () => {
        ch.timer = undefined;
        ch.blocked = false;
        this.core.fq.activateChannel(ch);
        this.core.kick();
      },
    );
  }

  private updateCongestion(): void {
    this.congestion.update(this.depth, this.bytes, this.waiters.count);
  }

  private idle(): boolean {
    return this.depth === 0 && this.waiters.count === 0 && this.inflight === 0;
  }

  private checkDrain(): void {
    if (this.drainers.size > 0 && !this.closed && this.idle()) this.drainers.settle();
  }

  drain(options: AbortOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('The peer queue is closed'));
    if (this.idle() && options.signal?.aborted !== true) return Promise.resolve();
    return this.drainers.wait(options);
  }

  close(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ClosedError('The peer queue is closed', { cause: reason });
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      this.unlisten(w);
      this.each(w, ended, 0, 'cancelled');
      w.state = GONE;
      w.reject(err);
    }
    for (let level = 0; level < LEVELS; level++) {
      const age = this.age[level] as List;
      for (let e = age.head; e !== undefined; e = age.head) {
        this.removeQueued(e, err, 'cancelled', false);
      }
    }
    this.timer?.cancel();
    this.channels.cancelTimers();
    this.congestion.clear();
    this.core.forget(this.key);
    this.drainers.settle(err);
  }

  stats(): PeerQueueStats {
    const priorities = {} as Record<Priority, { depth: number; bytes: number }>;
    PRIORITIES.forEach((p, level) => {
      priorities[p] = {
        depth: this.depthAt[level] as number,
        bytes: this.bytesAt[level] as number,
      };
    });
    return {
      ...toStats(this.counters),
      priorities,
      inFlight: this.inflight,
      waiting: this.waiters.count,
      congested: this.congestion.congested,
    };
  }
}
