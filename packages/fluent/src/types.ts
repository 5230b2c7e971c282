import type { AbortOptions, Clock, Logger, PeerId, Startable } from '@detr/interface';
import type { FullPolicy, Priority } from './priority.js';
import type { RateLimit } from './rate-limit.js';

/**
 * One outbound message. The scheduler hands this same object to the sink.
 *
 * @example
 * ```ts
 * const message: OutboundMessage = { channel: 'chat', data: frame, priority: 'high' }
 * ```
 */
export interface OutboundMessage {
  /** The channel it travels on; per-channel quotas and stats are keyed by it. */
  readonly channel: string;
  /** The encoded bytes; `byteLength` is what queue caps and byte quotas count. */
  readonly data: Uint8Array;
  /** @default 'normal' */
  readonly priority?: Priority;
}

/**
 * Where a peer queue's messages go: typically "write this frame on the peer's stream". Return
 * nothing when the message was taken at once, or a promise that settles when the sink can take
 * more (e.g. after `'drain'` when `stream.write()` returned false); the scheduler never has more
 * than `maxInFlightPerPeer` sink calls pending per peer, so a slow sink is never over-fed. A throw
 * or rejection fails that message only.
 *
 * @example
 * ```ts
 * const sink: Sink = (m) => (stream.write(m.data) ? undefined : once(stream, 'drain').then(() => {}))
 * ```
 */
export type Sink = (message: OutboundMessage) => void | PromiseLike<void>;

/**
 * Counters and wait-time percentiles of one scope (a peer, a channel, a priority, or all).
 *
 * @example
 * ```ts
 * const { depth, dropped, waitP99Ms } = scheduler.stats().priorities.bulk
 * ```
 */
export interface QueueStats {
  /** Messages queued now. */
  depth: number;
  /** Bytes queued now. */
  bytes: number;
  /** Messages handed to a sink. */
  sent: number;
  sentBytes: number;
  /** Messages evicted by `drop-oldest`. */
  dropped: number;
  /** Messages refused with `QueueFullError`. */
  rejected: number;
  /** Messages cancelled before they were sent (their signal aborted, or the queue closed). */
  cancelled: number;
  /** Messages whose sink call failed. */
  failed: number;
  /** Median time from `send()` to the sink call, in ms (recent traffic; ±12.5 %). */
  waitP50Ms: number;
  /** 99th percentile of the same. */
  waitP99Ms: number;
}

/**
 * A peer queue's stats.
 *
 * @example
 * ```ts
 * if (queue.stats().priorities.critical.depth > 0) log.debug('critical backlog')
 * ```
 */
export interface PeerQueueStats extends QueueStats {
  /** Queued messages and bytes per priority. */
  priorities: Record<Priority, { depth: number; bytes: number }>;
  /** Sink calls pending now. */
  inFlight: number;
  /** `send()` calls waiting for room now. */
  waiting: number;
  /** True between `congestion:start` and `congestion:end`. */
  congested: boolean;
}

/**
 * The scheduler's stats, aggregated over every peer queue.
 *
 * @example
 * ```ts
 * gauge.set(scheduler.stats().total.depth)
 * ```
 */
export interface SchedulerStats {
  total: QueueStats;
  priorities: Record<Priority, QueueStats>;
  /** Per channel name (at most `maxChannels`; the rest are counted under `'*'`). */
  channels: Record<string, QueueStats>;
  /** Open peer queues. */
  peers: number;
  /** Peer queues congested now. */
  congestedPeers: number;
}

/**
 * Payload of `congestion:start` and `congestion:end`.
 *
 * @example
 * ```ts
 * scheduler.on('congestion:start', (e) => log.warn({ peer: e.peer.toString(), depth: e.depth }, 'congested'))
 * ```
 */
export interface CongestionEvent {
  readonly peer: PeerId;
  readonly depth: number;
  readonly bytes: number;
  readonly waiting: number;
  /** For `start`: how long the queue had been above its high-water mark; for `end`: how long it was congested. */
  readonly durationMs: number;
}

/**
 * One peer's outbound queue (one per connection).
 *
 * @example
 * ```ts
 * const queue = scheduler.open(peer, sink)
 * await queue.send({ channel: 'sync', data, priority: 'bulk' }, { signal })
 * ```
 */
export interface PeerQueue {
  readonly peer: PeerId;
  /** True after `close()` or the scheduler's `stop()`. */
  readonly closed: boolean;
  /**
   * Queues `message` and resolves once the sink took it. When the queue is full the message's
   * priority policy applies (see {@link FullPolicy}).
   *
   * @throws {QueueFullError} when the policy refuses the message
   * @throws {MessageDroppedError} when a newer message of the same priority evicted this one
   * @throws {AbortError} when `options.signal` aborts before the message reached the sink
   * @throws {ClosedError} when the queue closes first
   * @throws {NotStartedError} when the scheduler is not started
   * @throws {RangeError} when the message can never fit its priority's share of `maxBytes`
   * @throws {TypeError} for a malformed message
   */
  send(message: OutboundMessage, options?: AbortOptions): Promise<void>;
  stats(): PeerQueueStats;
  /**
   * Resolves when nothing is queued, waiting or in flight.
   *
   * @throws {ClosedError} when the queue is or gets closed
   * @throws {AbortError} when `options.signal` aborts first
   */
  drain(options?: AbortOptions): Promise<void>;
  /** Rejects every queued and waiting message with `ClosedError` and forgets the peer. Idempotent. */
  close(reason?: Error): void;
}

/**
 * Events of a {@link Scheduler}.
 *
 * @example
 * ```ts
 * scheduler.on('congestion:end', ({ peer, durationMs }) => metrics.observe(durationMs))
 * ```
 */
export interface SchedulerEvents {
  /** A peer queue stayed above its high-water mark (or had callers waiting) for `congestionMs`. */
  'congestion:start': CongestionEvent;
  /** A congested peer queue fell back to its low-water mark, or closed. */
  'congestion:end': CongestionEvent;
}

/**
 * The outbound scheduler: one {@link PeerQueue} per connection, all drawing on shared limits.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({ clock }, {})
 * await scheduler.start()
 * connection.onClose(() => scheduler.get(peer)?.close())
 * ```
 */
export interface Scheduler extends Startable {
  /**
   * The queue of `peer`, created if needed. A peer has one queue: opening it again (after a
   * reconnect) points it at the new `sink` and keeps its messages, quotas and stats.
   *
   * @throws {TypeError} if `sink` is not a function
   */
  open(peer: PeerId, sink: Sink): PeerQueue;
  /** The open queue of `peer`, if any. */
  get(peer: PeerId): PeerQueue | undefined;
  /** Every open queue (e.g. to export per-peer depths as metrics). */
  queues(): PeerQueue[];
  stats(): SchedulerStats;
  on<E extends keyof SchedulerEvents>(event: E, listener: (e: SchedulerEvents[E]) => void): void;
  off<E extends keyof SchedulerEvents>(event: E, listener: (e: SchedulerEvents[E]) => void): void;
}

/**
 * Injected dependencies of {@link Scheduler}.
 *
 * @example
 * ```ts
 * createScheduler({ clock: createManualClock(), logger }, init)
 * ```
 */
export interface SchedulerComponents {
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
}

/**
 * Options of {@link Scheduler}; see the package README for the defaults table.
 *
 * @example
 * ```ts
 * const init: SchedulerInit = {
 *   maxMessages: 10_000,
 *   policy: { low: 'drop-oldest', bulk: 'wait' },
 *   channelLimits: { sync: { bytesPerSec: 1_000_000 } },
 * }
 * ```
 */
export interface SchedulerInit {
  /** Messages a peer queue holds, all priorities together. @default 10_000 */
  maxMessages?: number;
  /** Bytes a peer queue holds. @default 16 MiB */
  maxBytes?: number;
  /** `send()` calls that may wait for room per peer queue (`wait` policy). @default 10_000 */
  maxWaiting?: number;
  /**
   * Bytes of the messages those callers hold, so a peer queue keeps at most `maxBytes` +
   * `maxWaitingBytes` alive. @default 16 MiB
   */
  maxWaitingBytes?: number;
  /** What a full queue does, per priority. @default {@link DEFAULT_POLICY} */
  policy?: Partial<Record<Priority, FullPolicy>>;
  /** Share (0–1] of `maxMessages`/`maxBytes` each priority may fill. @default {@link DEFAULT_ADMIT_SHARE} */
  admitShare?: Partial<Record<Priority, number>>;
  /** Quota per peer. @default `{ messagesPerSec: 1000 }` (burst 1,000) */
  peerLimit?: RateLimit;
  /** Quota per peer and channel name. @default none */
  channelLimits?: Record<string, RateLimit>;
  /** Quota per peer for channels not in `channelLimits`. @default unlimited */
  defaultChannelLimit?: RateLimit;
  /** Quota over all peers together (e.g. the uplink). @default unlimited */
  globalLimit?: RateLimit;
  /** Sink calls pending at once per peer. @default 1 */
  maxInFlightPerPeer?: number;
  /**
   * Sink calls pending at once over all peers (the p-queue concurrency). A finite value lets slow
   * peers hold every slot; leave it unlimited unless the sinks share one pipe. @default Infinity
   */
  maxInFlight?: number;
  /** Channel states kept per peer queue. @default 256 */
  maxChannelsPerPeer?: number;
  /** Channel names with their own stats; the rest are counted under `'*'`. @default 1024 */
  maxChannels?: number;
  /** High-water mark as a fraction of `maxMessages`/`maxBytes`. @default 0.8 */
  congestionHighWater?: number;
  /** Low-water mark. @default 0.5 */
  congestionLowWater?: number;
  /** How long a queue must stay congested before `congestion:start`. @default 5000 */
  congestionMs?: number;
}
