// The NAT service: NAT behaviour discovery and AutoNAT (the status), signaling, the WebRTC and
// circuit transports, the relay service, reservations at relays, and the relay → direct upgrade.
import type {
  Address,
  Clock,
  Connection,
  ConnectionGate,
  ConnectionHandler,
  Logger,
  PeerId,
  PeerReporter,
  PeerRouting,
  SharedRecords,
  Startable,
  StreamHandler,
  Timer,
  AbortOptions,
} from '@detr/interface';
import { noopLogger, noopPeerReporter, parseAddress, systemClock, withPeer } from '@detr/interface';
import {
  AUTONAT_PROTOCOL,
  createAutoNatServer,
  createReachabilityTally,
  requestDialBack,
  type Reachability,
} from './autonat.js';
import { parseIceServers, type IceServerInit } from './ice/config.js';
import { stopHandler } from './relay/client.js';
import {
  createRelayServer,
  RELAY_HOP_PROTOCOL,
  RELAY_STOP_PROTOCOL,
  type RelayServer,
  type RelayServerInit,
} from './relay/server.js';
import {
  createCircuitTransport,
  type CircuitTransport,
  type StreamUpgrader,
} from './relay/transport.js';
import { SIGNAL_PROTOCOL } from './signaling/path.js';
import { createStreamUpgrader } from './relay/upgrade.js';
import { createSignalRoutes } from './signaling/routes.js';
import { createSignaling, type SignalingInit } from './signaling/service.js';
import {
  discoverNatBehaviour,
  type FilteringBehaviour,
  type MappingBehaviour,
} from './stun/behaviour.js';
import type { NatProfile } from './strategy.js';
import { detrHandshake, type HandshakeComponents } from './webrtc/handshake.js';
import type { MuxFactory } from './webrtc/secure.js';
import {
  createWebRTCTransport,
  type WebRTCTransport,
  type WebRTCTransportInit,
} from './webrtc/transport.js';

/** The connections nat uses: the node's connection manager. */
export interface NatConnectionManager {
  connections(peer?: PeerId): readonly Connection[];
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** Our own listen addresses (for AutoNAT). */
  addresses(): readonly Address[];
}

/** Injected dependencies of {@link createNat}. */
export interface NatComponents extends HandshakeComponents {
  peerId: PeerId;
  connections: NatConnectionManager;
  /** Builds a multiplexed connection over an authenticated pipe (`@detr/transport`). */
  mux: MuxFactory;
  /**
   * Handshake + secure channel + mux over a byte stream, for circuits.
   *
   * @default createStreamUpgrader(components) (aecomms' handshake and Noise session, and `mux`)
   */
  upgradeStream?: StreamUpgrader;
  /** Where inbound WebRTC and relayed connections go (the connection manager's accept path). */
  onConnection: ConnectionHandler;
  /**
   * Called when a relayed connection was upgraded to a direct one; the default hands the new
   * connection to `onConnection` and closes the relayed one gracefully.
   */
  onUpgrade?: (direct: Connection, relayed: Connection) => void;
  /** Dials `address` on a new connection expecting `peer`, for AutoNAT's dial-back service. */
  dialBack?: (
    address: Address,
    peer: PeerId,
    options: { signal: AbortSignal },
  ) => Promise<Connection>;
  /** The DHT's records (signaling with no connection in common). */
  records?: SharedRecords;
  /** The DHT's presence lookup (relay addresses of a peer). */
  routing?: PeerRouting;
  gate?: ConnectionGate;
  reporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

/** Options of {@link createNat}. */
export interface NatInit {
  /** STUN and TURN servers. @default [] */
  iceServers?: readonly IceServerInit[];
  /** Local address ICE and STUN use. @default every interface */
  bindAddress?: string;
  /** Offer the relay service to others (`true` for the defaults). @default false */
  relayService?: boolean | RelayServerInit;
  /** Relays to hold a reservation at (`<address>/p2p/<relay>`). @default [] */
  relays?: readonly Address[];
  /** Upgrade relayed connections to direct WebRTC ones. @default true */
  holePunching?: boolean;
  /** Re-run NAT behaviour discovery this often; 0 runs it once at start. @default 600000 */
  discoveryIntervalMs?: number;
  /** Ask connected peers for a dial-back this often; 0 disables AutoNAT. @default 300000 */
  autonatIntervalMs?: number;
  /** Dial-back confirmations (or failures) from distinct peers needed for a verdict. @default 2 */
  autonatThreshold?: number;
  /** Answer other peers' dial-back requests (needs `dialBack`). @default true */
  autonatService?: boolean;
  signaling?: SignalingInit;
  webrtc?: Omit<WebRTCTransportInit, 'iceServers' | 'bindAddress'>;
}

/** What the node knows of its NAT: `node.nat.status`. */
export interface NatStatus {
  /** Mapping behaviour from STUN bindings to two servers. */
  readonly mapping: MappingBehaviour;
  /** Filtering behaviour from RFC 5780 tests (when the server supports them). */
  readonly filtering: FilteringBehaviour;
  /** AutoNAT's verdict from peers dialing us back. */
  readonly reachability: Reachability;
  /** Our public endpoints as STUN servers saw them. */
  readonly publicAddresses: readonly string[];
  /** Circuit addresses through relays holding a reservation for us. */
  readonly relayAddresses: readonly string[];
  /** Whether a TURN server is configured. */
  readonly turn: boolean;
  /** When discovery last ran (ms since the epoch), 0 before. */
  readonly checkedAtMs: number;
}

/** The NAT service. */
export interface Nat extends Startable {
  readonly status: NatStatus;
  /** The WebRTC and circuit transports, for the connection manager. */
  readonly transports: { readonly webrtc: WebRTCTransport; readonly circuit: CircuitTransport };
  /** The relay service, when offered. */
  readonly relay: RelayServer | undefined;
  /** Our NAT profile, as the connection strategy uses it. */
  profile(): NatProfile;
  /** Circuit addresses to advertise (DHT presence). */
  relayAddresses(): Address[];
  /** Called when the status changes (relay addresses, discovery, reachability). */
  onStatus(listener: (status: NatStatus) => void): () => void;
  /**
   * Tries to replace a relayed connection by a direct WebRTC one (signaling over the relayed
   * connection; ICE's simultaneous checks punch the holes). Resolves with the direct connection,
   * or `undefined` when no direct path exists; the caller decides what to do with both.
   */
  upgrade(relayed: Connection, options?: AbortOptions): Promise<Connection | undefined>;
  /** Runs NAT discovery now. */
  discover(options?: AbortOptions): Promise<NatStatus>;
}

/**
 * Creates the NAT service.
 *
 * @throws {TypeError} for a malformed ICE server configuration
 * @example
 * ```ts
 * const nat = createNat({ ...security, peerId, connections: manager, mux, upgradeStream, onConnection }, { iceServers })
 * await nat.start()
 * nat.status // { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', ... }
 * ```
 */
export function createNat(components: NatComponents, init: NatInit = {}): Nat {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'nat' });
  const reporter = components.reporter ?? noopPeerReporter;
  const ice = parseIceServers(init.iceServers ?? []);
  const holePunching = init.holePunching ?? true;
  const discoveryIntervalMs = init.discoveryIntervalMs ?? 600_000;
  const autonatIntervalMs = init.autonatIntervalMs ?? 300_000;
  const tally = createReachabilityTally(init.autonatThreshold ?? 2, clock);
  let behaviour: {
    mapping: MappingBehaviour;
    filtering: FilteringBehaviour;
    publicAddresses: string[];
    checkedAtMs: number;
  } = {
    mapping: 'unknown',
    filtering: 'unknown',
    publicAddresses: [],
    checkedAtMs: 0,
  };
  const statusListeners = new Set<(s: NatStatus) => void>();
  const timers: Timer[] = [];
  let running = false;
  const shutdown = new AbortController();

  const profile = (): NatProfile => ({
    mapping: behaviour.mapping,
    filtering: behaviour.filtering,
    reachability: tally.reachability,
  });

  const signaling = createSignaling(
    {
      peerId: components.peerId,
      connections: components.connections,
      ...(components.records !== undefined ? { records: components.records } : {}),
      reporter,
      clock,
      logger: log,
    },
    init.signaling,
  );
  const routes = createSignalRoutes({
    signaling,
    connections: components.connections,
    ...(components.routing !== undefined ? { routing: components.routing } : {}),
  });
  const webrtc = createWebRTCTransport(
    {
      peerId: components.peerId,
      handshake: detrHandshake(components),
      mux: components.mux,
      signaling: routes,
      natProfile: profile,
      ...(components.gate !== undefined ? { gate: components.gate } : {}),
      reporter,
      clock,
      logger: log,
    },
    {
      ...init.webrtc,
      iceServers: init.iceServers ?? [],
      ...(init.bindAddress !== undefined ? { bindAddress: init.bindAddress } : {}),
    },
  );
  const circuit = createCircuitTransport({
    peerId: components.peerId,
    connections: components.connections,
    upgrade: components.upgradeStream ?? createStreamUpgrader(components),
    clock,
    logger: log,
  });
  const relay =
    init.relayService === undefined || init.relayService === false
      ? undefined
      : createRelayServer(
          {
            peerId: components.peerId,
            connections: components.connections,
            addresses: () =>
              components.connections
                .addresses()
                .filter((a) => a.relay === undefined && a.transport !== 'webrtc'),
            reporter,
            clock,
            logger: log,
          },
          init.relayService === true ? {} : init.relayService,
        );
  const autonat =
    components.dialBack !== undefined && init.autonatService !== false
      ? createAutoNatServer({ dialBack: components.dialBack, reporter, logger: log })
      : undefined;

  const status = (): NatStatus => ({
    mapping: behaviour.mapping,
    filtering: behaviour.filtering,
    reachability: tally.reachability,
    publicAddresses: behaviour.publicAddresses,
    relayAddresses: circuit.reservations().flatMap((r) => r.addresses.map(String)),
    turn: ice.hasTurn,
    checkedAtMs: behaviour.checkedAtMs,
  });
  const emit = (): void => {
    const s = status();
    for (const l of statusListeners) {
      try {
        l(s);
      } catch {
        // listeners must not throw
      }
    }
  };
  circuit.onAddresses(emit);

  const discover = async (options: AbortOptions = {}): Promise<NatStatus> => {
    if (ice.stunServers.length === 0) return status();
    try {
      const b = await discoverNatBehaviour(ice.stunServers, {
        ...(init.bindAddress !== undefined ? { bindAddress: init.bindAddress } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      behaviour = {
        mapping: b.mapping,
        filtering: b.filtering,
        publicAddresses: [b.mapped, b.mapped2]
          .filter((e) => e !== undefined)
          .map((e) => `${e.address}:${e.port}`)
          .filter((v, i, all) => all.indexOf(v) === i),
        checkedAtMs: clock.now(),
      };
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'NAT discovery failed');
      behaviour = { ...behaviour, checkedAtMs: clock.now() };
    }
    emit();
    return status();
  };

  const autonatRound = async (): Promise<void> => {
    const addresses = components.connections
      .addresses()
      .filter((a) => a.relay === undefined && (a.transport === 'tcp' || a.transport === 'quic'));
    if (addresses.length === 0) return;
    const peers = components.connections
      .connections()
      .filter((c) => c.status === 'open' && c.transport !== 'relay');
    const before = tally.reachability;
    for (const conn of peers.slice(0, 3)) {
      try {
        tally.record(
          conn.remotePeer,
          await requestDialBack(conn, addresses, { signal: AbortSignal.timeout(15_000) }),
        );
      } catch {
        // the peer does not offer AutoNAT, or failed: no verdict from it
      }
    }
    if (tally.reachability !== before) emit();
  };

  const every = (ms: number, fn: () => Promise<unknown>): void => {
    if (ms <= 0) return;
    const tick = (): void => {
      if (!running) return;
      void fn().finally(() => {
        if (running) timers.push(clock.setTimeout(tick, ms));
      });
    };
    timers.push(clock.setTimeout(tick, ms));
  };

  const upgrade = async (
    relayed: Connection,
    options: AbortOptions = {},
  ): Promise<Connection | undefined> => {
    try {
      return await webrtc.dial(
        withPeer(parseAddress('/ip4/0.0.0.0/udp/0/webrtc'), relayed.remotePeer.toString()),
        {
          expectedPeer: relayed.remotePeer,
          // Hole punching only, signaled over the relayed connection itself.
          directOnly: true,
          via: relayed,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        },
      );
    } catch (err) {
      log.debug(
        { peer: relayed.remotePeer.toString(), err: (err as Error).message },
        'no direct path',
      );
      return undefined;
    }
  };

  const onRelayed = (conn: Connection): void => {
    components.onConnection(conn);
    // The dialer of the relayed connection starts the upgrade (one side only, no glare).
    if (!holePunching || conn.direction !== 'outbound') return;
    void upgrade(conn, { signal: shutdown.signal }).then((direct) => {
      if (direct === undefined) return;
      if (components.onUpgrade !== undefined) components.onUpgrade(direct, conn);
      else {
        components.onConnection(direct);
        void conn.close().catch(() => conn.abort());
      }
    });
  };

  return {
    get status() {
      return status();
    },
    transports: {
      webrtc,
      circuit: {
        ...circuit,
        dial: async (address, options) => {
          const conn = await circuit.dial(address, options);
          if (holePunching) {
            void upgrade(conn, { signal: shutdown.signal }).then((direct) => {
              if (direct === undefined) return;
              if (components.onUpgrade !== undefined) components.onUpgrade(direct, conn);
              else {
                components.onConnection(direct);
                void conn.close().catch(() => conn.abort());
              }
            });
          }
          return conn;
        },
      },
    },
    relay,
    profile,
    relayAddresses: () => circuit.reservations().flatMap((r) => [...r.addresses]),
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    upgrade,
    discover,
    async start() {
      if (running) return;
      running = true;
      const m = components.connections;
      m.handle(SIGNAL_PROTOCOL, signaling.handler);
      m.handle(
        RELAY_STOP_PROTOCOL,
        stopHandler((c) => circuit.acceptCircuit(c), {
          accept: (relayPeer) => circuit.reservedAt(relayPeer),
        }),
      );
      if (relay !== undefined) m.handle(RELAY_HOP_PROTOCOL, relay.handler);
      if (autonat !== undefined) m.handle(AUTONAT_PROTOCOL, autonat.handler);
      signaling.start();
      await webrtc.listen(
        parseAddress(`/ip4/${init.bindAddress ?? '0.0.0.0'}/udp/0/webrtc`),
        components.onConnection,
      );
      for (const r of init.relays ?? []) {
        await circuit.listen(parseAddress(`${r.toString()}/p2p-circuit`), onRelayed);
      }
      void discover({ signal: shutdown.signal });
      every(discoveryIntervalMs, () => discover({ signal: shutdown.signal }));
      every(autonatIntervalMs, autonatRound);
    },
    async stop() {
      if (!running) return;
      running = false;
      shutdown.abort();
      for (const t of timers.splice(0)) t.cancel();
      const m = components.connections;
      for (const p of [SIGNAL_PROTOCOL, RELAY_STOP_PROTOCOL, RELAY_HOP_PROTOCOL, AUTONAT_PROTOCOL])
        m.unhandle(p);
      signaling.stop();
      relay?.stop();
      await Promise.all([webrtc.close(), circuit.close()]);
    },
  };
}
