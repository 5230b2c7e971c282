import {
  noopLogger,
  noopPeerReporter,
  systemClock,
  type Clock,
  type Logger,
  type PeerId,
  type PeerReporter,
} from '@detr/interface';
import { TokenBucket, type RateLimit } from './rate-limit.js';

/**
 * Injected dependencies of {@link InboundLimiter}.
 *
 * @example
 * ```ts
 * createInboundLimiter({ clock, logger, peerReporter: dpeers }, init)
 * ```
 */
export interface InboundComponents {
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
  /** Where excess is reported (`@detr/dpeers` implements it). @default noopPeerReporter */
  peerReporter?: PeerReporter;
}

/**
 * Options of {@link InboundLimiter}; see the package README for the defaults table.
 *
 * @example
 * ```ts
 * const init: InboundInit = { peerLimit: { messagesPerSec: 1000 }, channelLimits: { gossip: { messagesPerSec: 100 } } }
 * ```
 */
export interface InboundInit {
  /** Quota per remote peer. @default `{ messagesPerSec: 1000 }` (burst 1,000) */
  peerLimit?: RateLimit;
  /** Quota per remote peer and channel name. @default none */
  channelLimits?: Record<string, RateLimit>;
  /** Quota per remote peer for channels not in `channelLimits`. @default unlimited */
  defaultChannelLimit?: RateLimit;
  /** Peers tracked at once; the least recently seen is forgotten beyond it. @default 10_000 */
  maxPeers?: number;
  /** Channel quotas tracked per peer; the least recently used is forgotten beyond it. @default 64 */
  maxChannelsPerPeer?: number;
  /** A peer not seen for this long is forgotten (its quota would be full again anyway). @default 60_000 */
  idleMs?: number;
  /** At most one penalty per peer per this interval while it keeps exceeding. @default 1000 */
  penaltyIntervalMs?: number;
  /** The `weight` passed to `PeerReporter.penalize`. @default 1 */
  penaltyWeight?: number;
}

/**
 * Counters of inbound accounting.
 *
 * @example
 * ```ts
 * const { dropped, penalties, trackedPeers } = inbound.stats()
 * ```
 */
export interface InboundStats {
  accepted: number;
  dropped: number;
  /** Penalties reported to the `PeerReporter`. */
  penalties: number;
  /** Peers tracked now (bounded by `maxPeers`). */
  trackedPeers: number;
  /** Peers forgotten because they were idle or the table was full. */
  evictedPeers: number;
  /**
   * Per channel named in `channelLimits` (an empty, unlimited quota `{}` names a channel just for
   * its stats); every other channel is counted under `'*'`, so remote names cannot grow this.
   */
  channels: Record<string, { accepted: number; dropped: number }>;
}

/**
 * Per-peer and per-channel inbound quotas: what exceeds them is dropped and reported.
 *
 * @example
 * ```ts
 * if (!inbound.accept(peer, msg.channel, frame.byteLength)) return
 * ```
 */
export interface InboundLimiter {
  /**
   * Accounts one received message. Returns true to process it, false to drop it (the excess
   * is counted and, at most once per `penaltyIntervalMs`, reported as a `'rate-limit'` penalty).
   * Never throws for any peer or channel the network sends.
   *
   * @throws {TypeError} if `bytes` is not a non-negative number (a caller bug, not remote input)
   */
  accept(peer: PeerId, channel: string, bytes: number): boolean;
  /** Counters of one tracked peer. */
  peerStats(peer: PeerId): { accepted: number; dropped: number } | undefined;
  stats(): InboundStats;
}

/** Channel keys longer than this are truncated, so a hostile name costs bounded memory. */
const MAX_CHANNEL_KEY = 128;
/** A peer's place in the LRU order is refreshed at most this often. */
const TOUCH_MS = 1000;
const OTHER_CHANNELS = '*';

interface PeerIn {
  readonly bucket: TokenBucket | undefined;
  readonly channels: Map<string, TokenBucket>;
  touched: number;
  lastSeen: number;
  lastPenalty: number;
  accepted: number;
  dropped: number;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const value = v ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${String(v)}`);
  }
  return value;
}

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  const value = v ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(v)}`);
  }
  return value;
}

const limited = (limit: RateLimit | undefined, now: number): RateLimit | undefined => {
  if (TokenBucket.unlimited(limit)) return undefined;
  new TokenBucket(limit as RateLimit, now); // validates
  return limit;
};

/**
 * Creates the inbound limiter. Memory is bounded whatever the network sends: at most `maxPeers`
 * peers × `maxChannelsPerPeer` channel quotas, channel keys truncated to 128 characters, idle
 * peers forgotten. It holds no timer or handle, so there is nothing to stop.
 *
 * @throws {RangeError} for an invalid option
 * @example
 * ```ts
 * const inbound = createInboundLimiter({ clock, peerReporter: dpeers }, { peerLimit: { messagesPerSec: 1000 } })
 * if (!inbound.accept(conn.remotePeer, msg.channel, frame.byteLength)) return // dropped, reported
 * ```
 */
export function createInboundLimiter(
  components: InboundComponents = {},
  init: InboundInit = {},
): InboundLimiter {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'fluent:inbound' });
  const reporter = components.peerReporter ?? noopPeerReporter;
  const now0 = clock.now();
  const peerLimit = limited(init.peerLimit ?? { messagesPerSec: 1000 }, now0);
  const channelLimits = new Map<string, RateLimit | undefined>();
  for (const [name, limit] of Object.entries(init.channelLimits ?? {})) {
    channelLimits.set(name.slice(0, MAX_CHANNEL_KEY), limited(limit, now0));
  }
  const defaultChannelLimit = limited(init.defaultChannelLimit, now0);
  const maxPeers = positiveInt('maxPeers', init.maxPeers, 10_000);
  const maxChannelsPerPeer = positiveInt('maxChannelsPerPeer', init.maxChannelsPerPeer, 64);
  const idleMs = nonNegative('idleMs', init.idleMs, 60_000);
  const penaltyIntervalMs = nonNegative('penaltyIntervalMs', init.penaltyIntervalMs, 1000);
  const penaltyWeight = nonNegative('penaltyWeight', init.penaltyWeight, 1);

  const peers = new Map<string, PeerIn>();
  const keys = new WeakMap<PeerId, string>();
  const channelStats = new Map<string, { accepted: number; dropped: number }>();
  const totals = { accepted: 0, dropped: 0, penalties: 0, evictedPeers: 0 };

  const keyOf = (peer: PeerId): string => {
    let key = keys.get(peer);
    if (key === undefined) {
      key = peer.toString();
      keys.set(peer, key);
    }
    return key;
  };

  for (const name of [...channelLimits.keys(), OTHER_CHANNELS]) {
    channelStats.set(name, { accepted: 0, dropped: 0 });
  }
  const other = channelStats.get(OTHER_CHANNELS) as { accepted: number; dropped: number };
  const statsFor = (channel: string): { accepted: number; dropped: number } =>
    channelStats.get(channel) ?? other;

  /** Forgets the least recently seen peers beyond `maxPeers`, and a couple of idle ones. */
  const evict = (now: number): void => {
    for (let i = 0; i < 2; i++) {
      const oldest = peers.entries().next();
      if (oldest.done === true) return;
      const [key, st] = oldest.value;
      if (peers.size <= maxPeers && now - st.lastSeen < idleMs) return;
      peers.delete(key);
      totals.evictedPeers++;
    }
  };

  const channelBucket = (st: PeerIn, key: string, now: number): TokenBucket | undefined => {
    const limit = channelLimits.has(key) ? channelLimits.get(key) : defaultChannelLimit;
    if (limit === undefined) return undefined;
    let bucket = st.channels.get(key);
    if (bucket === undefined) {
      if (st.channels.size >= maxChannelsPerPeer) {
        const first = st.channels.keys().next();
        if (first.done !== true) st.channels.delete(first.value);
      }
      bucket = new TokenBucket(limit, now);
    } else {
      st.channels.delete(key); // re-inserted below: most recently used last
    }
    st.channels.set(key, bucket);
    return bucket;
  };

  const penalize = (peer: PeerId, st: PeerIn, now: number): void => {
    if (st.lastPenalty !== -Infinity && now - st.lastPenalty < penaltyIntervalMs) return;
    st.lastPenalty = now;
    totals.penalties++;
    try {
      reporter.penalize(peer, 'rate-limit', penaltyWeight);
    } catch (err) {
      log.warn({ err }, 'peerReporter.penalize threw');
    }
  };

  return {
    accept(peer, channel, bytes) {
      if (typeof bytes !== 'number' || !(bytes >= 0)) {
        throw new TypeError('bytes must be a non-negative number');
      }
      const now = clock.now();
      const key = keyOf(peer);
      let st = peers.get(key);
      if (st === undefined) {
        st = {
          bucket: peerLimit === undefined ? undefined : new TokenBucket(peerLimit, now),
          channels: new Map(),
          touched: now,
          lastSeen: now,
          lastPenalty: -Infinity,
          accepted: 0,
          dropped: 0,
        };
        peers.set(key, st);
      } else if (now - st.touched >= TOUCH_MS) {
        peers.delete(key);
        peers.set(key, st);
        st.touched = now;
      }
      st.lastSeen = now;
      evict(now);
      const name = typeof channel === 'string' ? channel.slice(0, MAX_CHANNEL_KEY) : OTHER_CHANNELS;
      const chBucket = channelBucket(st, name, now);
      const ok = (st.bucket?.ready(now) ?? true) && (chBucket?.ready(now) ?? true);
      const cs = statsFor(name);
      if (ok) {
        st.bucket?.take(bytes, now);
        chBucket?.take(bytes, now);
        st.accepted++;
        cs.accepted++;
        totals.accepted++;
        return true;
      }
      st.dropped++;
      cs.dropped++;
      totals.dropped++;
      penalize(peer, st, now);
      return false;
    },
    peerStats(peer) {
      const st = peers.get(keyOf(peer));
      return st === undefined ? undefined : { accepted: st.accepted, dropped: st.dropped };
    },
    stats() {
      const channels: InboundStats['channels'] = {};
      for (const [name, s] of channelStats) channels[name] = { ...s };
      return { ...totals, trackedPeers: peers.size, channels };
    },
  };
}
