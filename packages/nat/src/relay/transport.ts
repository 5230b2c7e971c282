// The circuit transport: dial `<relay address>/p2p/<relay>/p2p-circuit/p2p/<target>` through a
// relay, listen on `<relay address>/p2p/<relay>/p2p-circuit` by reserving a slot there. The
// circuit is a raw stream through the relay, so the connection over it runs the full detr
// handshake and secure channel end to end (the relay sees only ciphertext).
import type { Duplex } from 'node:stream';
import type {
  AbortOptions,
  Address,
  Clock,
  Connection,
  ConnectionHandler,
  Direction,
  Listener,
  Logger,
  PeerId,
  Transport,
} from '@detr/interface';
import {
  ClosedError,
  combineSignals,
  noopLogger,
  parseAddress,
  systemClock,
  withPeer,
  shutdownController,
} from '@detr/interface';
import { peerIdFromString } from '@detr/aecomms';
import { openCircuit, reserveSlot, type InboundCircuit, type RelayReservation } from './client.js';

/** Runs the detr handshake and the multiplexer over a byte stream (`@detr/transport`'s upgrade). */
export type StreamUpgrader = (
  stream: Duplex,
  options: {
    direction: Direction;
    remoteAddress: Address;
    expectedPeer?: PeerId;
    signal?: AbortSignal;
    transport: string;
  },
) => Promise<Connection>;

/** Dials connections to relays (the node's connection manager). */
export interface RelayDialer {
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
}

export interface CircuitTransportComponents {
  peerId: PeerId;
  connections: RelayDialer;
  upgrade: StreamUpgrader;
  clock?: Clock;
  logger?: Logger;
}

export interface CircuitTransportInit {
  /** Time limit of a dial through a relay (relay connection, circuit, handshake). @default 20000 */
  dialTimeoutMs?: number;
  /** Renew a reservation when this fraction of its lifetime has passed. @default 0.75 */
  renewAt?: number;
}

/** The circuit transport, with what nat needs of it. */
export interface CircuitTransport extends Transport {
  /** Relays we hold a reservation at now. */
  reservations(): readonly RelayReservation[];
  /** Accepts an inbound circuit (from the stop handler) for the listener of its relay. */
  acceptCircuit(circuit: InboundCircuit): void;
  /** True when we hold a reservation at `relay` (circuits from other relays are refused). */
  reservedAt(relay: PeerId): boolean;
  /** Called whenever the set of circuit addresses changes. */
  onAddresses(listener: () => void): void;
}

/**
 * Creates the circuit transport.
 *
 * @example
 * ```ts
 * const circuits = createCircuitTransport({ peerId, connections: manager, upgrade })
 * await circuits.listen(parseAddress(`/ip4/203.0.113.200/tcp/4001/p2p/${relay}/p2p-circuit`), onConnection)
 * ```
 */
export function createCircuitTransport(
  components: CircuitTransportComponents,
  init: CircuitTransportInit = {},
): CircuitTransport {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'nat:circuit' });
  const dialTimeoutMs = init.dialTimeoutMs ?? 20_000;
  const renewAt = init.renewAt ?? 0.75;
  const shutdown = shutdownController();
  const connections = new Set<Connection>();
  const listeners = new Map<
    string,
    {
      reservation: RelayReservation | undefined;
      onConnection: ConnectionHandler;
      timer?: { cancel(): void };
    }
  >();
  const addressListeners: Array<() => void> = [];
  let closed = false;

  const changed = (): void => {
    for (const l of addressListeners) {
      try {
        l();
      } catch {
        // listeners must not throw
      }
    }
  };
  const track = (c: Connection): Connection => {
    connections.add(c);
    c.onClose(() => connections.delete(c));
    return c;
  };

  const reserve = async (key: string, relayAddress: Address): Promise<void> => {
    const entry = listeners.get(key);
    if (entry === undefined || closed) return;
    try {
      const conn = await components.connections.dial(relayAddress, {
        signal: combineSignals(shutdown.signal, AbortSignal.timeout(dialTimeoutMs)),
      });
      const reservation = await reserveSlot(conn, components.peerId, {
        signal: AbortSignal.timeout(dialTimeoutMs),
      });
      entry.reservation = reservation;
      changed();
      const ttl = Math.max(1000, reservation.expiresAtMs - clock.now());
      entry.timer = clock.setTimeout(() => void reserve(key, relayAddress), ttl * renewAt);
      conn.onClose(() => {
        if (listeners.get(key) !== entry || closed) return;
        entry.reservation = undefined;
        changed();
        entry.timer?.cancel();
        entry.timer = clock.setTimeout(() => void reserve(key, relayAddress), 5000);
      });
    } catch (err) {
      log.debug(
        { relay: relayAddress.toString(), err: (err as Error).message },
        'reservation failed',
      );
      if (entry.reservation !== undefined) {
        entry.reservation = undefined;
        changed();
      }
      entry.timer = clock.setTimeout(() => void reserve(key, relayAddress), 30_000);
    }
  };

  return {
    name: 'relay',
    canDial(address) {
      return address.relay !== undefined && address.peer !== undefined;
    },
    async dial(address, options = {}) {
      if (closed) throw new ClosedError('transport closed');
      if (address.relay === undefined || address.peer === undefined)
        throw new TypeError('not a circuit address');
      const target = peerIdFromString(address.peer);
      const signal = combineSignals(
        options.signal,
        shutdown.signal,
        AbortSignal.timeout(dialTimeoutMs),
      );
      const relayConn = await components.connections.dial(address.relay, { signal });
      const { stream } = await openCircuit(relayConn, target, { signal });
      const conn = await components.upgrade(stream, {
        direction: 'outbound',
        remoteAddress: address,
        expectedPeer: options.expectedPeer ?? target,
        signal,
        transport: 'relay',
      });
      return track(conn);
    },
    listen(address, onConnection) {
      if (closed) return Promise.reject(new ClosedError('transport closed'));
      const relay = address.relay ?? address;
      if (relay.peer === undefined)
        return Promise.reject(new TypeError('a relay address must name the relay peer'));
      const key = relay.peer;
      listeners.set(key, { reservation: undefined, onConnection });
      void reserve(key, relay);
      return Promise.resolve<Listener>({
        addresses: () => listeners.get(key)?.reservation?.addresses ?? [],
        close: () => {
          const e = listeners.get(key);
          e?.timer?.cancel();
          listeners.delete(key);
          changed();
          return Promise.resolve();
        },
      });
    },
    reservations() {
      return [...listeners.values()].flatMap((l) =>
        l.reservation !== undefined ? [l.reservation] : [],
      );
    },
    reservedAt(relay) {
      return listeners.get(relay.toString())?.reservation !== undefined;
    },
    acceptCircuit(circuit) {
      const entry = listeners.get(circuit.relay.remotePeer.toString());
      if (entry === undefined || closed) {
        circuit.stream.reset();
        return;
      }
      const relayAddr = circuit.relay.remoteAddress;
      const relayPeer = circuit.relay.remotePeer.toString();
      let remoteAddress: Address;
      try {
        if (relayAddr.relay !== undefined) throw new TypeError('nested relay');
        remoteAddress = parseAddress(
          `${withPeer(relayAddr, relayPeer).toString()}/p2p-circuit/p2p/${circuit.source.toString()}`,
        );
      } catch {
        remoteAddress = parseAddress(
          `/memory/relay/p2p/${relayPeer}/p2p-circuit/p2p/${circuit.source.toString()}`,
        );
      }
      components
        .upgrade(circuit.stream, {
          direction: 'inbound',
          remoteAddress,
          expectedPeer: circuit.source,
          signal: combineSignals(shutdown.signal, AbortSignal.timeout(dialTimeoutMs)),
          transport: 'relay',
        })
        .then(
          (conn) => {
            if (closed) {
              conn.abort(new ClosedError('transport closed'));
              return;
            }
            entry.onConnection(track(conn));
          },
          (err: Error) => log.debug({ err: err.message }, 'inbound circuit failed'),
        );
    },
    onAddresses(listener) {
      addressListeners.push(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort(new ClosedError('transport closed'));
      for (const e of listeners.values()) e.timer?.cancel();
      listeners.clear();
      await Promise.all(
        [...connections].map((c) =>
          c.close({ signal: AbortSignal.timeout(2000) }).catch(() => c.abort()),
        ),
      );
      connections.clear();
    },
  };
}
