import {
  AbortError,
  ClosedError,
  NotStartedError,
  type AbortOptions,
  type PeerId,
  type Timer,
} from '@detr/interface';
import type { Core } from './core.js';
import { newCounters, queued, sent, toStats } from './counters.js';
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
  listPush,
  listRemove,
  newList,
} from './entry.js';
import { MessageDroppedError, QueueFullError, SinkError } from './errors.js';
import { PRIORITIES, levelOf, type Priority } from './priority.js';
import { TokenBucket } from './rate-limit.js';
import { Ring } from './ring.js';
import type { OutboundMessage, PeerQueue, PeerQueueStats, Sink } from './types.js';

type Outcome = 'dropped' | 'rejected' | 'cancelled' | 'failed';
const LEVELS = PRIORITIES.length;
const NORMAL = 2;

const CLEAR = 0;
const RISING = 1;
const CONGESTED = 2;

/** One peer's outbound queue: admission, waiters, quotas, congestion and stats. */
export class PeerQueueImpl implements PeerQueue, PeerLike {
  readonly rings = PRIORITIES.map(() => new Ring<ChannelState>());
  readonly inReady = PRIORITIES.map(() => false);
  readonly depthAt = PRIORITIES.map(() => 0);
  private readonly bytesAt = PRIORITIES.map(() => 0);
  /** Queued entries per level in arrival order (for drop-oldest and close). */
  private readonly age: List[] = PRIORITIES.map(newList);
  private readonly waiters: List[] = PRIORITIES.map(newList);
  private readonly channels = new Map<string, ChannelState>();
  private readonly counters = newCounters();
  private readonly bucket: TokenBucket | undefined;
  private timer: Timer | undefined;
  private depth = 0;
  private bytes = 0;
  private waiting = 0;
  private pumping = false;
  private pumpAgain = false;
  private congestion = CLEAR;
  private risingSince = 0;
  private congestedSince = 0;
  private congestionTimer: Timer | undefined;
  private drainers: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
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
  }

  send(message: OutboundMessage, options: AbortOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('The peer queue is closed'));
    if (!this.core.running) return Promise.reject(new NotStartedError());
    if (typeof message !== 'object' || message === null) {
      return Promise.reject(new TypeError('message must be an object'));
    }
    const level = message.priority === undefined ? NORMAL : levelOf(message.priority);
    if (level < 0)
      return Promise.reject(new TypeError(`unknown priority ${String(message.priority)}`));
    if (typeof message.channel !== 'string') {
      return Promise.reject(new TypeError('message.channel must be a string'));
    }
    if (!(message.data instanceof Uint8Array)) {
      return Promise.reject(new TypeError('message.data must be a Uint8Array'));
    }
    const bytes = message.data.byteLength;
    const cfg = this.core.config;
    if (bytes > (cfg.capBytes[level] as number)) {
      return Promise.reject(
        new RangeError(`a ${PRIORITIES[level]} message of ${bytes} bytes can never fit the queue`),
      );
    }
    const { signal } = options;
    if (signal?.aborted === true) {
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    let channel: ChannelState;
    try {
      channel = this.channel(message.channel);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      const e: Entry = {
        message,
        level,
        bytes,
        peer: this,
        channel,
        createdAt: this.core.clock.now(),
        state: WAITING,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        run: undefined,
        prev: undefined,
        next: undefined,
        aprev: undefined,
        anext: undefined,
      };
      const clear = this.noWaitersUpTo(level);
      if (clear && this.fits(level, bytes)) return this.admit(e);
      const policy = cfg.policy[level];
      if (policy === 'drop-oldest' && this.dropFor(level, bytes, !clear)) return this.admit(e);
      if (policy === 'wait' && this.waiting < cfg.maxWaiting) return this.wait(e);
      this.count(e, 'rejected');
      e.state = GONE;
      reject(new QueueFullError(`The ${PRIORITIES[level]} queue to this peer is full`));
    });
  }

  private noWaitersUpTo(level: number): boolean {
    for (let i = 0; i <= level; i++) if ((this.waiters[i] as List).length > 0) return false;
    return true;
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
    listPush(this.waiters[e.level] as List, e);
    this.waiting++;
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
    this.forEachScope(e, (c) => queued(c, e.bytes, 1));
    this.listen(e);
    void this.core.pq.add(() => this.dispatch(e), { priority: LEVELS - 1 - e.level, entry: e });
    this.updateCongestion();
  }

  private forEachScope(e: Entry, fn: (c: Counters) => void): void {
    fn(this.core.levels[e.level] as Counters);
    fn(e.channel.counters);
    fn(this.counters);
    fn(this.core.total);
  }

  private count(e: Entry, outcome: Outcome): void {
    this.forEachScope(e, (c) => c[outcome]++);
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
    this.forEachScope(e, (c) => queued(c, e.bytes, -1));
    this.count(e, outcome);
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
    listRemove(this.waiters[e.level] as List, e);
    this.waiting--;
    this.count(e, 'cancelled');
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
    this.forEachScope(e, (c) => sent(c, e.bytes, waitMs));
    this.inflight++;
    if (this.bucket !== undefined) {
      this.bucket.take(e.bytes, now);
      if (!this.bucket.ready(now)) this.blockPeer(now);
    }
    const ch = e.channel;
    if (ch.bucket !== undefined) {
      ch.bucket.take(e.bytes, now);
      if (!ch.bucket.ready(now)) this.blockChannel(ch, now);
    }
  }

  /** The p-queue task of `e`: runs right after {@link taken}. */
  private dispatch(e: Entry): void | PromiseLike<void> {
    this.pump();
    this.updateCongestion();
    let result: void | PromiseLike<void>;
    try {
      result = this.sink(e.message);
    } catch (err) {
      return this.finish(e, true, err);
    }
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
      this.count(e, 'failed');
      e.reject(err instanceof Error ? err : new SinkError(undefined, { cause: err }));
    } else {
      e.resolve();
    }
    this.checkDrain();
  }

  /** Admits waiters, most urgent first, while they fit; a waiter that doesn't fit stops the rest. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain && !this.closed);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    for (let level = 0; level < LEVELS; level++) {
      const list = this.waiters[level] as List;
      for (let w = list.head; w !== undefined; w = list.head) {
        if (!this.fits(level, w.bytes)) return;
        listRemove(list, w);
        this.waiting--;
        this.admit(w);
      }
    }
  }

  private blockPeer(now: number): void {
    this.blocked = true;
    const bucket = this.bucket as TokenBucket;
    this.timer = this.core.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      const t = this.core.clock.now();
      if (!bucket.ready(t)) return this.blockPeer(t);
      this.blocked = false;
      this.core.fq.activatePeer(this);
      this.core.kick();
    }, bucket.delayMs(now));
  }

  private blockChannel(ch: ChannelState, now: number): void {
    ch.blocked = true;
    const bucket = ch.bucket as TokenBucket;
    ch.timer = this.core.clock.setTimeout(() => {
      ch.timer = undefined;
      if (this.closed) return;
      const t = this.core.clock.now();
      if (!bucket.ready(t)) return this.blockChannel(ch, t);
      ch.blocked = false;
      this.core.fq.activateChannel(ch);
      this.core.kick();
    }, bucket.delayMs(now));
  }

  private channel(name: string): ChannelState {
    const found = this.channels.get(name);
    if (found !== undefined) return found;
    const cfg = this.core.config;
    const now = this.core.clock.now();
    if (this.channels.size >= cfg.maxChannelsPerPeer) this.evictChannel(now);
    const limit = cfg.channelLimits.has(name)
      ? cfg.channelLimits.get(name)
      : cfg.defaultChannelLimit;
    const ch: ChannelState = {
      name,
      peer: this,
      fifo: PRIORITIES.map(newList),
      inRing: PRIORITIES.map(() => false),
      queued: 0,
      bucket: limit === undefined ? undefined : new TokenBucket(limit, now),
      blocked: false,
      timer: undefined,
      counters: this.core.channelCounters(name),
    };
    this.channels.set(name, ch);
    return ch;
  }

  /** Forgets one idle channel (nothing queued, quota full); a RangeError if none is idle. */
  private evictChannel(now: number): void {
    for (const [name, ch] of this.channels) {
      if (ch.queued === 0 && !ch.blocked && (ch.bucket === undefined || ch.bucket.full(now))) {
        this.channels.delete(name);
        return;
      }
    }
    throw new RangeError(
      `more than ${this.core.config.maxChannelsPerPeer} busy channels to one peer`,
    );
  }

  private updateCongestion(): void {
    const cfg = this.core.config;
    if (this.congestion === CLEAR) {
      if (this.depth >= cfg.highMessages || this.bytes >= cfg.highBytes || this.waiting > 0) {
        this.congestion = RISING;
        this.risingSince = this.core.clock.now();
        this.congestionTimer = this.core.clock.setTimeout(
          () => this.congestionDue(),
          cfg.congestionMs,
        );
      }
    } else if (this.depth <= cfg.lowMessages && this.bytes <= cfg.lowBytes && this.waiting === 0) {
      this.clearCongestion();
    }
  }

  private congestionDue(): void {
    this.congestionTimer = undefined;
    if (this.congestion !== RISING || this.closed) return;
    this.congestion = CONGESTED;
    this.congestedSince = this.core.clock.now();
    this.core.congestedPeers++;
    this.core.emit('congestion:start', this.event(this.congestedSince - this.risingSince));
  }

  private clearCongestion(): void {
    this.congestionTimer?.cancel();
    this.congestionTimer = undefined;
    const was = this.congestion;
    this.congestion = CLEAR;
    if (was === CONGESTED) {
      this.core.congestedPeers--;
      this.core.emit('congestion:end', this.event(this.core.clock.now() - this.congestedSince));
    }
  }

  private event(durationMs: number): {
    peer: PeerId;
    depth: number;
    bytes: number;
    waiting: number;
    durationMs: number;
  } {
    return {
      peer: this.peer,
      depth: this.depth,
      bytes: this.bytes,
      waiting: this.waiting,
      durationMs,
    };
  }

  private idle(): boolean {
    return this.depth === 0 && this.waiting === 0 && this.inflight === 0;
  }

  private checkDrain(): void {
    if (this.drainers.length === 0 || this.closed || !this.idle()) return;
    const drainers = this.drainers;
    this.drainers = [];
    for (const d of drainers) d.resolve();
  }

  drain(options: AbortOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('The peer queue is closed'));
    const { signal } = options;
    if (signal?.aborted === true) {
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    if (this.idle()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.drainers = this.drainers.filter((d) => d !== drainer);
        reject(new AbortError(undefined, { cause: signal?.reason }));
      };
      const drainer = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.drainers.push(drainer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ClosedError('The peer queue is closed', { cause: reason });
    for (let level = 0; level < LEVELS; level++) {
      const waiters = this.waiters[level] as List;
      for (let w = waiters.head; w !== undefined; w = waiters.head) {
        listRemove(waiters, w);
        this.waiting--;
        this.unlisten(w);
        this.count(w, 'cancelled');
        w.state = GONE;
        w.reject(err);
      }
      const age = this.age[level] as List;
      for (let e = age.head; e !== undefined; e = age.head) {
        this.removeQueued(e, err, 'cancelled', false);
      }
    }
    this.timer?.cancel();
    for (const ch of this.channels.values()) ch.timer?.cancel();
    this.clearCongestion();
    this.core.forget(this.key);
    const drainers = this.drainers;
    this.drainers = [];
    for (const d of drainers) d.reject(err);
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
      waiting: this.waiting,
      congested: this.congestion === CONGESTED,
    };
  }
}
