// The relay service (circuit relay, as libp2p's v2): a reachable node lets NAT-bound peers reserve
// a slot, and splices circuits from other peers to them, within limits — reservations, circuits
// in total and per peer, bytes per direction and duration per circuit. A circuit that reaches a
// limit is cut (both streams reset). Only peers with a live reservation can be reached.
import type { Connection, PeerId, Stream, StreamHandler } from '@detr/interface';
import {
  noopLogger,
  noopPeerReporter,
  ProtocolViolationError,
  systemClock,
  withPeer,
} from '@detr/interface';
import { peerIdFromBytes } from '@detr/aecomms';
import { MessageType, RelayStatus, type RelayResponseInit } from '@detr/protocol';
import { readMessage, writeMessage } from '../framed.js';
import { splice } from '../splice.js';
import type {
  RelayServerComponents,
  RelayServerInit,
  RelayServerStats,
  RelayServer,
} from './server-types.js';

/** Stream protocol a client speaks to a relay (reserve, connect). */
export const RELAY_HOP_PROTOCOL = '/detr/relay/hop/1';
/** Stream protocol a relay speaks to a reserved peer (an incoming circuit). */
export const RELAY_STOP_PROTOCOL = '/detr/relay/stop/1';
/** Largest relay control frame. */
export const MAX_RELAY_FRAME_BYTES = 8192;

export type {
  RelayServerComponents,
  RelayServerInit,
  RelayServerStats,
  RelayServer,
} from './server-types.js';

interface Reservation {
  readonly peer: PeerId;
  expiresAtMs: number;
}

/**
 * Creates the relay service.
 *
 * @example
 * ```ts
 * const relay = createRelayServer({ peerId, connections, addresses: () => listener.addresses() }, { maxCircuits: 16 })
 * manager.handle(RELAY_HOP_PROTOCOL, relay.handler)
 * ```
 */
export function createRelayServer(
  components: RelayServerComponents,
  init: RelayServerInit = {},
): RelayServer {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'nat:relay' });
  const reporter = components.reporter ?? noopPeerReporter;
  const o = {
    maxReservations: init.maxReservations ?? 128,
    reservationTtlMs: init.reservationTtlMs ?? 3_600_000,
    maxCircuits: init.maxCircuits ?? 64,
    maxCircuitsPerPeer: init.maxCircuitsPerPeer ?? 4,
    circuitBytes: init.circuitBytes ?? 16 << 20,
    circuitDurationMs: init.circuitDurationMs ?? 600_000,
    requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
  };
  const stats: RelayServerStats = {
    reservations: 0,
    reservationsRefused: 0,
    circuitsOpened: 0,
    circuitsRefused: 0,
    circuitsCut: 0,
    circuitsOpen: 0,
    bytesRelayed: 0,
  };
  const reservations = new Map<string, Reservation>();
  const perPeer = new Map<string, number>();
  const live = new Set<Stream>();
  let stopped = false;

  const limits = {
    durationSec: Math.ceil(o.circuitDurationMs / 1000),
    dataBytes: o.circuitBytes,
  };

  const active = (peer: PeerId): Reservation | undefined => {
    const r = reservations.get(peer.toString());
    if (r === undefined) return undefined;
    if (r.expiresAtMs <= clock.now()) {
      reservations.delete(peer.toString());
      return undefined;
    }
    return r;
  };

  const respond = (stream: Stream, response: RelayResponseInit): Promise<void> =>
    writeMessage(stream, MessageType.RelayResponse, response, MAX_RELAY_FRAME_BYTES);

  const reserve = async (stream: Stream, conn: Connection): Promise<void> => {
    const peer = conn.remotePeer;
    const key = peer.toString();
    const existing = active(peer);
    if (existing === undefined && reservations.size >= o.maxReservations) {
      stats.reservationsRefused++;
      await respond(stream, { status: RelayStatus.RELAY_STATUS_RESERVATION_REFUSED });
      stream.end();
      return;
    }
    const expiresAtMs = clock.now() + o.reservationTtlMs;
    reservations.set(key, { peer, expiresAtMs });
    if (existing === undefined) {
      stats.reservations++;
      conn.onClose(() => {
        if (reservations.get(key)?.expiresAtMs === expiresAtMs) reservations.delete(key);
      });
    }
    const addresses = components
      .addresses()
      .map((a) => `${withPeer(a, components.peerId.toString()).toString()}/p2p-circuit/p2p/${key}`);
    await respond(stream, {
      status: RelayStatus.RELAY_STATUS_OK,
      reservation: { expiresAtMs, addresses: addresses.slice(0, 16) },
      limits,
    });
    stream.end();
  };

  const take = (peer: PeerId): boolean => {
    const n = perPeer.get(peer.toString()) ?? 0;
    if (n >= o.maxCircuitsPerPeer) return false;
    perPeer.set(peer.toString(), n + 1);
    return true;
  };
  const give = (peer: PeerId): void => {
    const n = (perPeer.get(peer.toString()) ?? 1) - 1;
    if (n <= 0) perPeer.delete(peer.toString());
    else perPeer.set(peer.toString(), n);
  };

  const connect = async (
    stream: Stream,
    conn: Connection,
    targetBytes: Uint8Array,
  ): Promise<void> => {
    const source = conn.remotePeer;
    let target: PeerId;
    try {
      target = peerIdFromBytes(targetBytes);
    } catch {
      reporter.penalize(source, 'invalid-message');
      await respond(stream, { status: RelayStatus.RELAY_STATUS_MALFORMED_MESSAGE });
      stream.end();
      return;
    }
    const targetConn = components.connections.connections(target).find((c) => c.status === 'open');
    if (active(target) === undefined || targetConn === undefined) {
      stats.circuitsRefused++;
      await respond(stream, { status: RelayStatus.RELAY_STATUS_NO_RESERVATION });
      stream.end();
      return;
    }
    if (stats.circuitsOpen >= o.maxCircuits || source.equals(target)) {
      stats.circuitsRefused++;
      await respond(stream, { status: RelayStatus.RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED });
      stream.end();
      return;
    }
    if (!take(source)) {
      stats.circuitsRefused++;
      await respond(stream, { status: RelayStatus.RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED });
      stream.end();
      return;
    }
    if (!take(target)) {
      give(source);
      stats.circuitsRefused++;
      await respond(stream, { status: RelayStatus.RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED });
      stream.end();
      return;
    }
    stats.circuitsOpen++;
    let stop: Stream | undefined;
    try {
      stop = await targetConn.newStream(RELAY_STOP_PROTOCOL);
      live.add(stop);
      await writeMessage(
        stop,
        MessageType.RelayStop,
        { source: source.bytes, limits },
        MAX_RELAY_FRAME_BYTES,
      );
      const { message } = await readMessage(stop, [MessageType.RelayResponse], {
        maxFrameBytes: MAX_RELAY_FRAME_BYTES,
        signal: AbortSignal.timeout(o.requestTimeoutMs),
      });
      if (message.status !== RelayStatus.RELAY_STATUS_OK)
        throw new Error('target refused the circuit');
      await respond(stream, { status: RelayStatus.RELAY_STATUS_OK, limits });
      stats.circuitsOpened++;
      live.add(stream);
      const r = await splice(stream, stop, {
        maxBytesPerDirection: o.circuitBytes,
        maxDurationMs: o.circuitDurationMs,
      });
      stats.bytesRelayed += r.bytesAtoB + r.bytesBtoA;
      if (r.reason === 'limit') {
        stats.circuitsCut++;
        log.debug(
          { source: source.toString(), target: target.toString() },
          'circuit cut at its limit',
        );
      }
    } catch (err) {
      stats.circuitsRefused++;
      log.debug({ err }, 'circuit failed');
      if (!stream.destroyed) {
        await respond(stream, { status: RelayStatus.RELAY_STATUS_CONNECTION_FAILED }).catch(
          () => {},
        );
        stream.end();
      }
      stop?.reset();
    } finally {
      if (stop !== undefined) live.delete(stop);
      live.delete(stream);
      stats.circuitsOpen--;
      give(source);
      give(target);
    }
  };

  const handler: StreamHandler = async (stream, conn) => {
    if (stopped) {
      stream.reset();
      return;
    }
    let request;
    try {
      request = (
        await readMessage(stream, [MessageType.RelayRequest], {
          maxFrameBytes: MAX_RELAY_FRAME_BYTES,
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        })
      ).message;
    } catch (err) {
      if (err instanceof ProtocolViolationError) {
        reporter.penalize(conn.remotePeer, 'protocol-violation');
        await respond(stream, { status: RelayStatus.RELAY_STATUS_MALFORMED_MESSAGE }).catch(
          () => {},
        );
      }
      stream.reset();
      return;
    }
    if (request.body === 'reserve') await reserve(stream, conn);
    else await connect(stream, conn, request.connect.target);
  };

  return {
    handler,
    stats,
    reservedPeers: () =>
      [...reservations.values()].filter((r) => r.expiresAtMs > clock.now()).map((r) => r.peer),
    stop() {
      stopped = true;
      reservations.clear();
      for (const s of live) s.reset();
      live.clear();
    },
  };
}
