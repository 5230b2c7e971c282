// The composition: every package built from the config, wired to the others. Same-layer packages
// meet here only: dpeers is the gate, tracker and reporter of the transports, the DHT and the
// protocols; the DHT runs on the transport's connection manager; nat signals through the DHT.
import {
  type AbortOptions,
  type Clock,
  type Logger,
  type PeerId,
  type PeerReporter,
} from '@detr/interface';
import {
  nobleCryptoProvider,
  nodeCryptoProvider,
  peerIdFromBytes,
  peerIdFromString,
  type Identity,
} from '@detr/aecomms';
import type { Store } from '@detr/stored';
import { createInboundLimiter, createScheduler, type Scheduler } from '@detr/fluent';
import { createDpeers, type Dpeers } from '@detr/dpeers';
import { parseAddress } from '@detr/interface';
import type { IceServerInit, NatInit } from '@detr/nat';
import { opt, type NodeConfig } from './config/config.js';
import { createMessaging, type Messaging, type ReceivedMessage } from './messaging.js';
import { createServices, type Services } from './services.js';
import { createPubSub, type PubSub } from './gossip/pubsub.js';
import { createOffline, type Offline } from './offline/mailbox.js';
import { createNodeDht, type NodeDht } from './net/dht.js';
import { createStack, type Stack } from './net/stack.js';
import type { ConnectionManager } from './ports.js';
import type { ConnectionManager as TransportManager } from '@detr/transport';
import type { Network } from './networks.js';

/** Everything a node is made of. */
export interface Parts {
  dpeers: Dpeers;
  stack: Stack;
  scheduler: Scheduler;
  services: Services;
  dht: NodeDht;
  offline: Offline;
  messaging: Messaging;
  pubsub: PubSub;
}

/** Turns `turn:user:pass@host:port` / `stun:host:port` into nat's ICE server entries. */
export function iceServers(stun: readonly string[], turn: readonly string[]): IceServerInit[] {
  const out: IceServerInit[] = stun.map((urls) => ({ urls }));
  for (const text of turn) {
    const m = /^(turns?):(?:([^:@]+):([^@]+)@)?(.+)$/.exec(text);
    if (m === null) throw new RangeError(`not a TURN URL: ${text}`);
    out.push({
      urls: `${m[1]}:${m[4]}`,
      ...(m[2] !== undefined ? { username: decodeURIComponent(m[2]) } : {}),
      ...(m[3] !== undefined ? { credential: decodeURIComponent(m[3]) } : {}),
    });
  }
  return out;
}

/** nat's options from the `[nat]` section (circuits and the upgrade work with WebRTC off too). */
export function natInit(cfg: NodeConfig): NatInit {
  const n = <T extends number | boolean | string | readonly string[]>(k: string): T =>
    opt<T>(cfg, 'nat', k);
  const relays = n<readonly string[]>('relays');
  return {
    iceServers: iceServers(n('stun_servers'), n('turn_servers')),
    bindAddress: n<string>('bind_address'),
    relayService: n<boolean>('relay_service')
      ? {
          maxReservations: n<number>('relay_max_reservations'),
          maxCircuits: n<number>('relay_max_circuits'),
          circuitBytes: n<number>('relay_circuit_bytes'),
          circuitDurationMs: n<number>('relay_circuit_duration_ms'),
        }
      : false,
    relays: relays.map((a) => parseAddress(a)),
    holePunching: n<boolean>('hole_punching') && n<boolean>('webrtc'),
    autonatIntervalMs: n<number>('autonat_interval_ms'),
    discoveryIntervalMs: n<number>('discovery_interval_ms'),
  };
}

/**
 * Builds every part of a node from its config.
 *
 * @throws {RangeError} for invalid network material or options
 */
export function buildParts(
  c: {
    identity: Identity;
    network: Network;
    token: string;
    revocations?: string;
    store: Store;
    clock: Clock;
    logger: Logger;
    /** The connection manager the protocols use (dials by PeerId resolve through the DHT). */
    routed: (cm: TransportManager) => ConnectionManager;
    /** Counted handshake failures and transport penalties. */
    reporter: (dpeers: Dpeers) => PeerReporter;
    onTokenRefused: (peer: PeerId) => void;
    deliverOffline: (m: ReceivedMessage) => void;
  },
  cfg: NodeConfig,
): Parts {
  const t = <T extends number | boolean | string | readonly string[]>(
    s: 'transport',
    k: string,
  ): T => opt<T>(cfg, s, k);
  const dpeers = createDpeers(
    { store: c.store, clock: c.clock, logger: c.logger, peerIdFromString },
    {
      maxConnections: opt<number>(cfg, 'dpeers', 'max_peers'),
      banThreshold: opt<number>(cfg, 'dpeers', 'reputation_threshold'),
      maxConnectionsPerIp: opt<number>(cfg, 'dpeers', 'max_connections_per_ip'),
      banBaseMs: opt<number>(cfg, 'dpeers', 'ban_base_ms'),
    },
  );
  const reporter = c.reporter(dpeers);
  const nat = natInit(cfg);
  const stack = createStack(
    {
      identity: c.identity,
      network: c.network,
      token: c.token,
      ...(c.revocations !== undefined ? { revocations: c.revocations } : {}),
      dpeers,
      reporter,
      onTokenRefused: c.onTokenRefused,
      provider:
        opt<string>(cfg, 'aecomms', 'crypto_provider') === 'noble'
          ? nobleCryptoProvider
          : nodeCryptoProvider,
      clock: c.clock,
      logger: c.logger,
    },
    {
      listen: t<readonly string[]>('transport', 'listen'),
      dialTimeoutMs: t<number>('transport', 'connection_timeout_ms'),
      handshakeTimeoutMs: t<number>('transport', 'handshake_timeout_ms'),
      clockSkewMs: opt<number>(cfg, 'aecomms', 'token_clock_skew_ms'),
      mux: {
        idleTimeoutMs: t<number>('transport', 'idle_timeout_ms'),
        maxBidirectionalStreams: t<number>('transport', 'max_streams_per_connection'),
        keepaliveIntervalMs: t<number>('transport', 'keepalive_interval_ms'),
        streamWindowBytes: t<number>('transport', 'stream_window_bytes'),
      },
      nat,
      webrtc: opt<boolean>(cfg, 'nat', 'webrtc'),
    },
  );
  const cm = stack.connections;
  const routed = c.routed(cm);
  const scheduler = createScheduler(
    { clock: c.clock, logger: c.logger },
    {
      maxMessages: opt<number>(cfg, 'fluent', 'max_queue_messages'),
      maxBytes: opt<number>(cfg, 'fluent', 'max_queue_bytes'),
      peerLimit: { messagesPerSec: opt<number>(cfg, 'fluent', 'peer_messages_per_sec') },
    },
  );
  const inbound = createInboundLimiter(
    { clock: c.clock, logger: c.logger, peerReporter: dpeers },
    { peerLimit: { messagesPerSec: opt<number>(cfg, 'fluent', 'inbound_messages_per_sec') } },
  );
  const maxMessageBytes = opt<number>(cfg, 'node', 'max_message_bytes');
  const services = createServices(
    {
      connections: routed,
      peerReporter: dpeers,
      logger: c.logger,
      peerIdFromBytes,
      identity: c.identity,
      clock: c.clock,
    },
    { requestTimeoutMs: opt<number>(cfg, 'node', 'request_timeout_ms'), maxMessageBytes },
  );
  const d = <T extends number | boolean>(k: string): T => opt<T>(cfg, 'dht', k);
  // A DHT timeout is a slow or gone peer rather than a hostile one: a quarter of the penalty, so a
  // loaded host does not ban its peers for its own slowness (invalid answers keep full weight).
  const dhtReporter: PeerReporter = {
    penalize: (peer, reason, weight) =>
      reporter.penalize(peer, reason, reason === 'timeout' ? (weight ?? 1) * 0.25 : weight),
    reward: (peer, reason, weight) => reporter.reward(peer, reason, weight),
  };
  const dht = createNodeDht(
    {
      identity: c.identity,
      dialer: cm,
      store: c.store,
      reporter: dhtReporter,
      bans: dpeers,
      clock: c.clock,
      logger: c.logger,
      advertise: () => cm.addresses().filter((a) => a.transport !== 'webrtc'),
      peerSource: {
        // Outbound connections: their remote address is a listen address.
        peers: () =>
          cm
            .connections()
            .filter(
              (x) =>
                x.direction === 'outbound' && (x.transport === 'tcp' || x.transport === 'quic'),
            )
            .map((x) => ({ peer: x.remotePeer, addresses: [{ address: x.remoteAddress }] })),
      },
    },
    {
      networkId: new Uint8Array(Buffer.from(c.network.id, 'hex')),
      k: d<number>('k'),
      alpha: d<number>('alpha'),
      requestTimeoutMs: d<number>('request_timeout_ms'),
      getQuorum: d<number>('get_quorum'),
      maxValueBytes: d<number>('max_value_bytes'),
      maxTtlSec: d<number>('max_ttl_sec'),
      maxRecordsPerPeer: d<number>('max_records_per_peer'),
      clientMode: d<boolean>('client_mode'),
      defaultTtlSec: d<number>('record_ttl_sec'),
      presenceRefreshMs: d<number>('announce_interval_ms'),
      bootstrap: opt<readonly string[]>(cfg, 'dht', 'bootstrap'),
      offlineMaxBytes: opt<number>(cfg, 'node', 'offline_max_bytes'),
      offlineMaxTtlSec: opt<number>(cfg, 'node', 'offline_ttl_sec'),
    },
  );
  stack.attachNat(dht.dht);
  const offline = createOffline(
    {
      records: dht.dht,
      identity: c.identity,
      store: c.store,
      now: () => c.clock.now(),
      deliver: (m) => {
        let from: PeerId;
        try {
          from = peerIdFromBytes(m.sender);
        } catch {
          return;
        }
        c.deliverOffline({ from, channel: m.channel, data: m.data, via: 'offline' });
      },
    },
    {
      ttlSec: opt<number>(cfg, 'node', 'offline_ttl_sec'),
      maxBytes: opt<number>(cfg, 'node', 'offline_max_bytes'),
    },
  );
  const offlineOn = opt<boolean>(cfg, 'node', 'offline_delivery');
  const messaging = createMessaging(
    {
      connections: routed,
      store: c.store,
      scheduler,
      inbound,
      peerReporter: dpeers,
      clock: c.clock,
      logger: c.logger,
      peerIdFromString,
      ...(offlineOn
        ? {
            storeOffline: (p: PeerId, ch: string, data: Uint8Array, o: AbortOptions) =>
              offline.store(p, ch, data, o),
          }
        : {}),
    },
    {
      maxMessageBytes,
      ackTimeoutMs: opt<number>(cfg, 'node', 'ack_timeout_ms'),
      retransmitIntervalMs: opt<number>(cfg, 'node', 'retransmit_interval_ms'),
      maxOutboxMessages: opt<number>(cfg, 'node', 'max_outbox_messages'),
      dialTimeoutMs: t<number>('transport', 'connection_timeout_ms'),
    },
  );
  const pubsub = createPubSub(
    {
      connections: routed,
      identity: c.identity,
      peerIdFromBytes,
      peerReporter: dpeers,
      clock: c.clock,
      logger: c.logger,
    },
    {
      D: opt<number>(cfg, 'node', 'gossip_d'),
      Dlo: opt<number>(cfg, 'node', 'gossip_d_lo'),
      Dhi: opt<number>(cfg, 'node', 'gossip_d_hi'),
      heartbeatMs: opt<number>(cfg, 'node', 'gossip_heartbeat_ms'),
      maxDataBytes: maxMessageBytes,
    },
  );
  return { dpeers, stack, scheduler, services, dht, offline, messaging, pubsub };
}
