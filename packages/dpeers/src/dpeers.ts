import { peerIdFromString } from '@detr/aecomms';
import { noopLogger, systemClock, type PeerId } from '@detr/interface';
import { snapshot } from './entry.js';
import { Gate } from './gate.js';
import { Registry } from './registry.js';
import { DEFAULT_PENALTIES } from './reputation.js';
import type { Dpeers, DpeersComponents, DpeersEvents, DpeersInit } from './types.js';

/** The defaults of {@link DpeersInit} (seed 002: max 100 peers, reputation threshold 50). */
export const DPEERS_DEFAULTS = {
  maxConnections: 100,
  maxInboundConnections: 64,
  maxOutboundConnections: 64,
  maxConnectionsPerIp: 4,
  maxConnectionsPerSubnet: 16,
  limitLoopback: false,
  maxKnownPeers: 5000,
  maxAddressesPerPeer: 16,
  banThreshold: 50,
  banBaseMs: 10 * 60_000,
  banMaxMs: 24 * 3600_000,
  banCountResetMs: 7 * 24 * 3600_000,
  scoreHalfLifeMs: 10 * 60_000,
  rewardPoints: 1,
  trackedAuthorizedSets: 1,
  persistIntervalMs: 5000,
  pruneCloseTimeoutMs: 5000,
} as const;

function int(name: string, v: number | undefined, dflt: number, min: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}`);
  return x;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x <= 0) throw new RangeError(`${name} must be a positive number`);
  return x;
}

type Listeners = { [E in keyof DpeersEvents]: Set<(e: DpeersEvents[E]) => void> };

/**
 * Creates the peer manager: registry (persisted through `components.store`), reputation with
 * decay and growing bans, the connection gate and tracker, pruning, and authorized sets.
 * Give it to the transport's connection manager as its `ConnectionGate` and `ConnectionTracker`,
 * and to every component that judges peers as their `PeerReporter`.
 *
 * It works before `start()` (in memory); `start()` loads the persisted registry and bans and
 * starts periodic writes, `stop()` writes what changed.
 *
 * @throws {RangeError} for options out of range
 * @example
 * ```ts
 * const peers = createDpeers({ store, clock, peerIdFromString }, { maxConnections: 50 })
 * await peers.start()
 * const cm = createConnectionManager({ gate: peers, tracker: peers, ... })
 * dht = createDht({ reporter: peers, ... })
 * peers.setAuthorized(7, validators)
 * ```
 */
export function createDpeers(components: DpeersComponents = {}, init: DpeersInit = {}): Dpeers {
  const d = DPEERS_DEFAULTS;
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'dpeers' });
  const maxConnections = int('maxConnections', init.maxConnections, d.maxConnections, 0);
  const penalties = { ...DEFAULT_PENALTIES };
  for (const [k, v] of Object.entries(init.penalties ?? {})) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`penalty ${k} must be ≥ 0`);
    (penalties as Record<string, number>)[k] = v;
  }
  const banThreshold = positive('banThreshold', init.banThreshold, d.banThreshold);
  if (banThreshold > 100)
    throw new RangeError('banThreshold must be at most 100 (scores lie in [-100, 100])');

  const listeners: Listeners = {
    'peer:banned': new Set(),
    'peer:unbanned': new Set(),
    'connection:pruned': new Set(),
    'connection:cut': new Set(),
  };
  const emit = <E extends keyof DpeersEvents>(event: E, e: DpeersEvents[E]): void => {
    for (const l of listeners[event] as Set<(e: DpeersEvents[E]) => void>) {
      try {
        l(e);
      } catch (err) {
        log.error({ err, event }, 'event listener threw');
      }
    }
  };

  // The gate and the registry refer to each other through late-bound closures.
  const registry: Registry = new Registry(
    {
      maxKnownPeers: int('maxKnownPeers', init.maxKnownPeers, d.maxKnownPeers, 1),
      maxAddressesPerPeer: int(
        'maxAddressesPerPeer',
        init.maxAddressesPerPeer,
        d.maxAddressesPerPeer,
        1,
      ),
      banThreshold,
      banBaseMs: positive('banBaseMs', init.banBaseMs, d.banBaseMs),
      banMaxMs: positive('banMaxMs', init.banMaxMs, d.banMaxMs),
      banCountResetMs: positive('banCountResetMs', init.banCountResetMs, d.banCountResetMs),
      scoreHalfLifeMs: positive('scoreHalfLifeMs', init.scoreHalfLifeMs, d.scoreHalfLifeMs),
      penalties,
      rewardPoints: positive('rewardPoints', init.rewardPoints, d.rewardPoints),
      persistIntervalMs: int('persistIntervalMs', init.persistIntervalMs, d.persistIntervalMs, 0),
    },
    clock,
    log,
    {
      pinned: (id): boolean => (registry.get(id)?.connections ?? 0) > 0 || g.isProtected(id),
      banned: (e, untilMs, reason) => {
        g.cutPeer(e.id, 'banned');
        emit('peer:banned', { peer: e.peer, untilMs, reason });
      },
      unbanned: (e) => emit('peer:unbanned', { peer: e.peer }),
    },
    components.store,
    components.peerIdFromString ?? peerIdFromString,
  );
  const g: Gate = new Gate(
    {
      maxConnections,
      maxInboundConnections: int(
        'maxInboundConnections',
        init.maxInboundConnections,
        d.maxInboundConnections,
        0,
      ),
      maxOutboundConnections: int(
        'maxOutboundConnections',
        init.maxOutboundConnections,
        d.maxOutboundConnections,
        0,
      ),
      maxConnectionsPerIp: int(
        'maxConnectionsPerIp',
        init.maxConnectionsPerIp,
        d.maxConnectionsPerIp,
        1,
      ),
      maxConnectionsPerSubnet: int(
        'maxConnectionsPerSubnet',
        init.maxConnectionsPerSubnet,
        d.maxConnectionsPerSubnet,
        1,
      ),
      limitLoopback: init.limitLoopback ?? d.limitLoopback,
      trackedAuthorizedSets: int(
        'trackedAuthorizedSets',
        init.trackedAuthorizedSets,
        d.trackedAuthorizedSets,
        1,
      ),
      pruneCloseTimeoutMs: positive(
        'pruneCloseTimeoutMs',
        init.pruneCloseTimeoutMs,
        d.pruneCloseTimeoutMs,
      ),
    },
    clock,
    log,
    {
      score: (id) => registry.scoreById(id),
      isBanned: (id) => registry.isBanned(id),
      connected: (id, peer, delta) => {
        const e = delta > 0 ? registry.entry(peer) : registry.get(id);
        if (e === undefined) return;
        e.connections = Math.max(0, e.connections + delta);
        if (delta > 0) registry.markSeen(peer);
      },
    },
    {
      pruned: (connection) => emit('connection:pruned', { connection }),
      cut: (connection, reason) => emit('connection:cut', { connection, reason }),
    },
  );

  const info = (peer: PeerId) => {
    const e = registry.get(peer.toString());
    if (e === undefined) return undefined;
    const now = clock.now();
    return { ...snapshot(e, registry.scoreOf(e, now), now), protectedBy: g.protectedBy(e.id) };
  };

  const dpeers: Dpeers = {
    // registry
    addAddresses: (peer, addresses, source) => registry.addAddresses(peer, addresses, source),
    addressSucceeded: (peer, address) => registry.addressResult(peer, address, true),
    addressFailed: (peer, address) => registry.addressResult(peer, address, false),
    setProtocols: (peer, protocols) => registry.setProtocols(peer, protocols),
    recordLatency: (peer, rttMs) => registry.recordLatency(peer, rttMs),
    markSeen: (peer) => registry.markSeen(peer),
    get: info,
    peers: () =>
      [...registry.entries.values()].map((e) => info(e.peer)).filter((x) => x !== undefined),
    remove: (peer) => registry.remove(peer.toString()),

    // reputation (PeerReporter)
    penalize: (peer, reason, weight) => registry.penalize(peer, reason, weight),
    reward: (peer, _reason, weight) => registry.reward(peer, weight),
    score: (peer) => registry.scoreById(peer.toString()),
    isBanned: (peer) => registry.isBanned(peer.toString()),
    ban: (peer, options = {}) =>
      registry.ban(registry.entry(peer), options.durationMs, options.reason ?? 'manual'),
    unban: (peer) => registry.unban(peer),

    // gate and tracker
    allowInbound: (remote) => g.allowInbound(remote),
    allowDial: (address, peer) => g.allowDial(address, peer),
    allowPeer: (peer, direction, remote) => g.allowPeer(peer, direction, remote),
    connectionOpened: (c) => g.connectionOpened(c),
    connectionClosed: (c) => g.connectionClosed(c),
    protect: (peer, tag) => g.protect(peer.toString(), tag),
    unprotect: (peer, tag) => g.unprotect(peer.toString(), tag),
    isProtected: (peer) => g.isProtected(peer.toString()),
    prune: () => g.prune(),

    // authorized sets
    setAuthorized: (epoch, peers) => g.setAuthorized(epoch, peers),
    clearAuthorized: () => g.clearAuthorized(),
    isAuthorized: (peer) => g.isAuthorizedId(peer.toString()),

    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    stats: () => ({
      knownPeers: registry.entries.size,
      bannedPeers: registry.bannedCount(),
      connections: g.counts(),
      refused: { ...g.refused },
      pruned: g.pruned,
      cut: g.cutCount,
      ...registry.counters,
    }),
    flush: () => registry.flush(),
    start: () => registry.start(),
    stop: () => registry.stop(),
  };
  return dpeers;
}
