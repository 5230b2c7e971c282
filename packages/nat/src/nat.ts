// The NAT service: NAT behaviour discovery and AutoNAT (the status), signaling, the WebRTC and
// circuit transports, the relay service, reservations at relays, and the relay → direct upgrade.
// The single entry point a node wires (see the README's "Wiring into a node").
import type { AbortOptions, Connection, Timer } from '@detr/interface';
import {
  noopLogger,
  noopPeerReporter,
  parseAddress,
  systemClock,
  withPeer,
  shutdownController,
} from '@detr/interface';
import { AUTONAT_PROTOCOL, createAutoNatServer } from './autonat.js';
import { parseIceServers } from './ice/config.js';
import { stopHandler } from './relay/client.js';
import { createRelayServer, RELAY_HOP_PROTOCOL, RELAY_STOP_PROTOCOL } from './relay/server.js';
import { createCircuitTransport } from './relay/transport.js';
import { createStreamUpgrader } from './relay/upgrade.js';
import { SIGNAL_PROTOCOL } from './signaling/path.js';
import { createSignalRoutes } from './signaling/routes.js';
import { createSignaling } from './signaling/service.js';
import { createStatusTracker } from './nat/status.js';
import type { Nat, NatComponents, NatInit, NatStatus } from './nat/types.js';
import { detrHandshake } from './webrtc/handshake.js';
import { createMuxFactory } from './webrtc/mux.js';
import type { MuxFactory } from './webrtc/secure.js';
import { createWebRTCTransport } from './webrtc/transport.js';

export type { Nat, NatComponents, NatConnectionManager, NatInit, NatStatus } from './nat/types.js';

/**
 * Creates the NAT service: the one entry point a node wires. Register `transports.webrtc` and
 * `transports.circuit` with the connection manager, advertise `relayAddresses()` in presence (and
 * again on `onStatus`), expose `status` as `node.nat.status`, and `start()`/`stop()` it with the
 * node. Every protocol handler it needs is registered on `components.connections` by `start()`.
 *
 * @throws {TypeError} for a malformed ICE server configuration, or neither `registry` nor `mux`
 * @example
 * ```ts
 * const nat = createNat(
 *   { identity, network, token, tokenVerifier, gate, peerId, connections: manager,
 *     registry: manager, records: dht, routing: dht, reporter: peers, onConnection: manager.accept },
 *   { iceServers: [{ urls: 'stun:stun.example.net' }], relays: [relayAddress] },
 * )
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
  const timers: Timer[] = [];
  let running = false;
  const shutdown = shutdownController();
  let mux: MuxFactory;
  if (components.mux !== undefined) mux = components.mux;
  else if (components.registry !== undefined) {
    mux = createMuxFactory({ registry: components.registry, reporter, clock, logger: log });
  } else throw new TypeError('createNat needs components.registry (or components.mux)');

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
      mux,
      signaling: routes,
      natProfile: () => tracker.profile(),
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
    upgrade: components.upgradeStream ?? createStreamUpgrader({ ...components, mux }),
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

  const tracker = createStatusTracker(
    {
      ice,
      clock,
      logger: log,
      connections: components.connections,
      relayAddresses: () => circuit.reservations().flatMap((r) => [...r.addresses]),
      ...(init.bindAddress !== undefined ? { bindAddress: init.bindAddress } : {}),
    },
    { autonatThreshold: init.autonatThreshold ?? 2 },
  );
  circuit.onAddresses(tracker.emit);

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

  /** Tries the upgrade in the background; a direct connection replaces the relayed one. */
  const upgradeInBackground = (relayed: Connection): void => {
    void upgrade(relayed, { signal: shutdown.signal }).then((direct) => {
      if (direct === undefined) return;
      if (components.onUpgrade !== undefined) components.onUpgrade(direct, relayed);
      else {
        components.onConnection(direct);
        void relayed.close().catch(() => relayed.abort());
      }
    });
  };

  const onRelayed = (conn: Connection): void => {
    components.onConnection(conn);
    // The dialer of the relayed connection starts the upgrade (one side only, no glare).
    if (holePunching && conn.direction === 'outbound') upgradeInBackground(conn);
  };

  return {
    get status(): NatStatus {
      return tracker.status();
    },
    transports: {
      webrtc,
      circuit: {
        ...circuit,
        dial: async (address, options) => {
          const conn = await circuit.dial(address, options);
          if (holePunching) upgradeInBackground(conn);
          return conn;
        },
      },
    },
    relay,
    profile: tracker.profile,
    relayAddresses: () => circuit.reservations().flatMap((r) => [...r.addresses]),
    onStatus: tracker.onStatus,
    upgrade,
    discover: tracker.discover,
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
      void tracker.discover({ signal: shutdown.signal });
      every(discoveryIntervalMs, () => tracker.discover({ signal: shutdown.signal }));
      every(autonatIntervalMs, () => tracker.autonatRound({ signal: shutdown.signal }));
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
