import { EventEmitter } from 'node:events';
import { ClosedError, noopLogger, systemClock, type PeerId, type Timer } from '@detr/interface';
import PQueue from 'p-queue';
import type { Config, Core } from './core.js';
import { newCounters, toStats } from './counters.js';
import type { Counters, Entry, PeerLike } from './entry.js';
import { FairQueue, type FairQueueHooks, type FluentAddOptions } from './fair-queue.js';
import { PeerQueueImpl } from './peer-queue.js';
import {
  DEFAULT_ADMIT_SHARE,
  DEFAULT_POLICY,
  PRIORITIES,
  type FullPolicy,
  type Priority,
} from './priority.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';
import type {
  PeerQueue,
  QueueStats,
  Scheduler,
  SchedulerComponents,
  SchedulerEvents,
  SchedulerInit,
  SchedulerStats,
  Sink,
} from './types.js';

/**
 * The defaults of {@link SchedulerInit} (see the README's table).
 *
 * @example
 * ```ts
 * SCHEDULER_DEFAULTS.maxMessages // 10_000
 * ```
 */
export const SCHEDULER_DEFAULTS = Object.freeze({
  maxMessages: 10_000,
  maxBytes: 16 * 1024 * 1024,
  maxWaiting: 10_000,
  maxWaitingBytes: 16 * 1024 * 1024,
  peerLimit: Object.freeze<RateLimit>({ messagesPerSec: 1000 }),
  maxInFlightPerPeer: 1,
  maxInFlight: Infinity,
  maxChannelsPerPeer: 256,
  maxChannels: 1024,
  congestionHighWater: 0.8,
  congestionLowWater: 0.5,
  congestionMs: 5000,
});

const OTHER_CHANNELS = '*';

function count(
  name: string,
  v: number | undefined,
  fallback: number,
  allowInfinity = false,
): number {
  const value = v ?? fallback;
  const ok =
    typeof value === 'number' &&
    value >= 1 &&
    (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new RangeError(`${name} must be an integer >= 1, got ${String(v)}`);
  return value;
}

function fraction(name: string, v: number | undefined, fallback: number): number {
  const value = v ?? fallback;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new RangeError(`${name} must be in (0, 1], got ${String(v)}`);
  }
  return value;
}

/** Returns `limit` if it limits something, undefined if unlimited; throws on a bad limit. */
function limitOrUndefined(limit: RateLimit | undefined, now: number): RateLimit | undefined {
  if (TokenBucket.unlimited(limit)) return undefined;
  new TokenBucket(limit as RateLimit, now); // validates every field
  return limit;
}

function configure(
  init: SchedulerInit,
  now: number,
): Config & { maxInFlight: number; maxChannels: number } {
  const d = SCHEDULER_DEFAULTS;
  const maxMessages = count('maxMessages', init.maxMessages, d.maxMessages);
  const maxBytes = count('maxBytes', init.maxBytes, d.maxBytes);
  const policy: FullPolicy[] = PRIORITIES.map((p) => {
    const v = init.policy?.[p] ?? DEFAULT_POLICY[p];
    if (v !== 'wait' && v !== 'drop-oldest' && v !== 'reject') {
      throw new RangeError(`policy.${p} must be 'wait', 'drop-oldest' or 'reject'`);
    }
    return v;
  });
  const share = PRIORITIES.map((p) =>
    fraction(`admitShare.${p}`, init.admitShare?.[p], DEFAULT_ADMIT_SHARE[p]),
  );
  const high = fraction('congestionHighWater', init.congestionHighWater, d.congestionHighWater);
  const low = fraction('congestionLowWater', init.congestionLowWater, d.congestionLowWater);
  if (low > high) throw new RangeError('congestionLowWater must not exceed congestionHighWater');
  const channelLimits = new Map<string, RateLimit | undefined>();
  for (const [name, limit] of Object.entries(init.channelLimits ?? {})) {
    channelLimits.set(name, limitOrUndefined(limit, now));
  }
  const congestionMs = init.congestionMs ?? d.congestionMs;
  if (typeof congestionMs !== 'number' || !(congestionMs >= 0) || !Number.isFinite(congestionMs)) {
    throw new RangeError('congestionMs must be a finite number >= 0');
  }
  return {
    maxMessages,
    maxBytes,
    maxWaiting: count('maxWaiting', init.maxWaiting, d.maxWaiting),
    maxWaitingBytes: count('maxWaitingBytes', init.maxWaitingBytes, d.maxWaitingBytes),
    policy,
    capMessages: share.map((s) => Math.max(1, Math.floor(s * maxMessages))),
    capBytes: share.map((s) => Math.max(1, Math.floor(s * maxBytes))),
    peerLimit: limitOrUndefined(init.peerLimit ?? d.peerLimit, now),
    channelLimits,
    defaultChannelLimit: limitOrUndefined(init.defaultChannelLimit, now),
    maxInFlightPerPeer: count('maxInFlightPerPeer', init.maxInFlightPerPeer, d.maxInFlightPerPeer),
    maxInFlight: count('maxInFlight', init.maxInFlight, d.maxInFlight, true),
    maxChannelsPerPeer: count('maxChannelsPerPeer', init.maxChannelsPerPeer, d.maxChannelsPerPeer),
    maxChannels: count('maxChannels', init.maxChannels, d.maxChannels),
    highMessages: Math.max(1, Math.ceil(high * maxMessages)),
    highBytes: Math.max(1, Math.ceil(high * maxBytes)),
    lowMessages: Math.floor(low * maxMessages),
    lowBytes: Math.floor(low * maxBytes),
    congestionMs,
  };
}

/**
 * Creates the outbound scheduler: one {@link PeerQueue} per connection, five priority levels on
 * `p-queue`, token-bucket quotas per peer, per peer and channel, and overall, bounded queues with a
 * per-priority policy when full, round-robin fairness between peers and channels, stats, and
 * `congestion:start`/`congestion:end` events. Time comes from the injected clock.
 *
 * @throws {RangeError} for an invalid option
 * @example
 * ```ts
 * const scheduler = createScheduler({ clock }, { peerLimit: { messagesPerSec: 1000 } })
 * await scheduler.start()
 * const queue = scheduler.open(peerId, (m) => writeFrame(stream, m.channel, m.data))
 * await queue.send({ channel: 'chat', data, priority: 'high' }, { signal })
 * ```
 */
export function createScheduler(
  components: SchedulerComponents = {},
  init: SchedulerInit = {},
): Scheduler {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'fluent:scheduler' });
  const config = configure(init, clock.now());
  const globalLimit = limitOrUndefined(init.globalLimit, clock.now());
  const globalBucket =
    globalLimit === undefined ? undefined : new TokenBucket(globalLimit, clock.now());
  let globalBlocked = false;
  let globalTimer: Timer | undefined;
  const queues = new Map<string, PeerQueueImpl>();
  const channels = new Map<string, Counters>();
  const emitter = new EventEmitter();

  const unblockGlobal = (): void => {
    globalTimer = undefined;
    const now = clock.now();
    if (!(globalBucket as TokenBucket).ready(now)) {
      globalTimer = clock.setTimeout(unblockGlobal, (globalBucket as TokenBucket).delayMs(now));
      return;
    }
    globalBlocked = false;
    core.kick();
  };

  const hooks: FairQueueHooks = {
    gateOpen: () => !globalBlocked,
    eligible: (peer: PeerLike) =>
      !peer.closed && !peer.blocked && peer.inflight < config.maxInFlightPerPeer,
    taken(entry: Entry) {
      const now = clock.now();
      (entry.peer as PeerQueueImpl).taken(entry, now);
      if (globalBucket !== undefined) {
        globalBucket.take(entry.bytes, now);
        if (!globalBucket.ready(now)) {
          globalBlocked = true;
          globalTimer = clock.setTimeout(unblockGlobal, globalBucket.delayMs(now));
        }
      }
    },
  };
  const fairQueue = new FairQueue(hooks);
  // p-queue constructs its queue with `new queueClass()`; a function returning an object makes
  // `new` yield that object, so p-queue (even after a `clear()`) always works on this instance.
  const sharedQueue = function (): FairQueue {
    return fairQueue;
  } as unknown as new () => FairQueue;
  const pq = new PQueue<FairQueue, FluentAddOptions>({
    concurrency: config.maxInFlight,
    queueClass: sharedQueue,
  });

  const core: Core = {
    clock,
    log,
    config,
    fq: fairQueue,
    pq,
    levels: PRIORITIES.map(newCounters),
    total: newCounters(),
    running: false,
    congestedPeers: 0,
    channelCounters(name) {
      let c = channels.get(name);
      if (c === undefined) {
        if (channels.size >= config.maxChannels - 1 && name !== OTHER_CHANNELS) {
          return core.channelCounters(OTHER_CHANNELS);
        }
        c = newCounters();
        channels.set(name, c);
      }
      return c;
    },
    kick() {
      if (!core.running) return;
      pq.pause();
      pq.start();
    },
    emit(event, payload) {
      try {
        emitter.emit(event, payload);
      } catch (err) {
        log.warn({ err, event }, 'a fluent event listener threw');
      }
    },
    forget(key) {
      queues.delete(key);
    },
  };

  return {
    start() {
      core.running = true;
    },
    stop() {
      if (!core.running) return;
      core.running = false;
      for (const q of [...queues.values()]) q.close(new ClosedError('The scheduler stopped'));
      globalTimer?.cancel();
      globalTimer = undefined;
      globalBlocked = false;
      core.fq.reset();
    },
    open(peer: PeerId, sink: Sink): PeerQueue {
      if (typeof sink !== 'function') throw new TypeError('sink must be a function');
      const key = peer.toString();
      const existing = queues.get(key);
      if (existing !== undefined) {
        existing.sink = sink;
        return existing;
      }
      const q = new PeerQueueImpl(core, peer, key, sink);
      queues.set(key, q);
      return q;
    },
    get(peer: PeerId) {
      return queues.get(peer.toString());
    },
    queues() {
      return [...queues.values()];
    },
    stats(): SchedulerStats {
      const priorities = {} as Record<Priority, QueueStats>;
      PRIORITIES.forEach((p, i) => (priorities[p] = toStats(core.levels[i] as Counters)));
      const byChannel: Record<string, QueueStats> = {};
      for (const [name, c] of channels) byChannel[name] = toStats(c);
      return {
        total: toStats(core.total),
        priorities,
        channels: byChannel,
        peers: queues.size,
        congestedPeers: core.congestedPeers,
      };
    },
    on<E extends keyof SchedulerEvents>(event: E, listener: (e: SchedulerEvents[E]) => void) {
      emitter.on(event, listener);
    },
    off<E extends keyof SchedulerEvents>(event: E, listener: (e: SchedulerEvents[E]) => void) {
      emitter.off(event, listener);
    },
  };
}
