// The client side of circuit relay: reserving a slot at a relay, opening a circuit through one,
// and accepting circuits the relay brings to us. A circuit is a raw byte stream through the relay;
// the caller secures it end to end (Noise + mux), since the relay sees every byte.
import type { Connection, PeerId, Stream, StreamHandler } from '@detr/interface';
import { parseAddress, ProtocolViolationError, type Address } from '@detr/interface';
import { peerIdFromBytes } from '@detr/aecomms';
import { MessageType, RelayStatus } from '@detr/protocol';
import { RelayRefusedError } from '../errors.js';
import { readMessage, writeMessage } from '../framed.js';
import { MAX_RELAY_FRAME_BYTES, RELAY_HOP_PROTOCOL } from './server.js';

/** The limits a relay applies to a circuit (0 = none). */
export interface CircuitLimits {
  readonly durationSec: number;
  readonly dataBytes: number;
}

/** A reservation held at a relay. */
export interface RelayReservation {
  readonly relay: PeerId;
  readonly expiresAtMs: number;
  /** Circuit addresses others can dial us at (each names the relay and us). */
  readonly addresses: readonly Address[];
  readonly limits: CircuitLimits;
}

const STATUS_NAMES = new Map<number, string>(
  Object.entries(RelayStatus).map(([k, v]) => [v, k.replace('RELAY_STATUS_', '')]),
);

function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `STATUS_${status}`;
}

/**
 * Reserves a slot at the relay at the other end of `conn`.
 *
 * @throws {RelayRefusedError} when the relay refuses (`status` says why)
 * @throws {ProtocolViolationError} when the relay answers with garbage
 * @example
 * ```ts
 * const r = await reserveSlot(await manager.dial(relayAddress), self, { signal })
 * dht.announce({ relayAddresses: r.addresses })
 * ```
 */
export async function reserveSlot(
  conn: Connection,
  self: PeerId,
  options: { signal?: AbortSignal } = {},
): Promise<RelayReservation> {
  const stream = await conn.newStream(RELAY_HOP_PROTOCOL, options);
  try {
    await writeMessage(stream, MessageType.RelayRequest, { reserve: {} }, MAX_RELAY_FRAME_BYTES);
    const { message } = await readMessage(stream, [MessageType.RelayResponse], {
      maxFrameBytes: MAX_RELAY_FRAME_BYTES,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    if (message.status !== RelayStatus.RELAY_STATUS_OK || message.reservation === undefined) {
      throw new RelayRefusedError(statusName(message.status));
    }
    const addresses: Address[] = [];
    for (const text of message.reservation.addresses) {
      try {
        const a = parseAddress(text);
        // Keep only circuits through this relay to us.
        if (a.relay?.peer === conn.remotePeer.toString() && a.peer === self.toString())
          addresses.push(a);
      } catch {
        // a relay's bad address is its problem; skip it
      }
    }
    stream.end();
    return {
      relay: conn.remotePeer,
      expiresAtMs: message.reservation.expiresAtMs,
      addresses,
      limits: message.limits ?? { durationSec: 0, dataBytes: 0 },
    };
  } catch (err) {
    stream.reset();
    throw err;
  }
}

/**
 * Opens a circuit to `target` through the relay at the other end of `conn`; resolves with the
 * raw stream once the relay and the target accepted it.
 *
 * @throws {RelayRefusedError} when the relay refuses (`NO_RESERVATION`, `RESOURCE_LIMIT_EXCEEDED`…)
 * @example
 * ```ts
 * const { stream } = await openCircuit(relayConnection, target, { signal })
 * ```
 */
export async function openCircuit(
  conn: Connection,
  target: PeerId,
  options: { signal?: AbortSignal } = {},
): Promise<{ stream: Stream; limits: CircuitLimits }> {
  const stream = await conn.newStream(RELAY_HOP_PROTOCOL, options);
  try {
    await writeMessage(
      stream,
      MessageType.RelayRequest,
      { connect: { target: target.bytes } },
      MAX_RELAY_FRAME_BYTES,
    );
    const { message } = await readMessage(stream, [MessageType.RelayResponse], {
      maxFrameBytes: MAX_RELAY_FRAME_BYTES,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    if (message.status !== RelayStatus.RELAY_STATUS_OK)
      throw new RelayRefusedError(statusName(message.status));
    return { stream, limits: message.limits ?? { durationSec: 0, dataBytes: 0 } };
  } catch (err) {
    stream.reset();
    throw err;
  }
}

/** An inbound circuit: its raw stream, who is at the other end, and through which relay. */
export interface InboundCircuit {
  readonly stream: Stream;
  readonly source: PeerId;
  readonly relay: Connection;
  readonly limits: CircuitLimits;
}

/**
 * The handler of {@link RELAY_STOP_PROTOCOL} streams: accepts circuits from relays we hold a
 * reservation at (`accept` decides) and hands them to `onCircuit`.
 *
 * @example
 * ```ts
 * manager.handle(RELAY_STOP_PROTOCOL, stopHandler((c) => upgradeInbound(c.stream), { accept: (relay) => reserved.has(relay) }))
 * ```
 */
export function stopHandler(
  onCircuit: (circuit: InboundCircuit) => void,
  options: { accept(relay: PeerId, source: PeerId): boolean; timeoutMs?: number },
): StreamHandler {
  return async (stream, relay) => {
    let source: PeerId;
    let limits: CircuitLimits;
    try {
      const { message } = await readMessage(stream, [MessageType.RelayStop], {
        maxFrameBytes: MAX_RELAY_FRAME_BYTES,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      source = peerIdFromBytes(message.source);
      limits = message.limits ?? { durationSec: 0, dataBytes: 0 };
    } catch (err) {
      stream.reset(err instanceof ProtocolViolationError ? err : undefined);
      return;
    }
    if (!options.accept(relay.remotePeer, source)) {
      await writeMessage(
        stream,
        MessageType.RelayResponse,
        { status: RelayStatus.RELAY_STATUS_PERMISSION_DENIED },
        MAX_RELAY_FRAME_BYTES,
      ).catch(() => {});
      stream.end();
      return;
    }
    await writeMessage(
      stream,
      MessageType.RelayResponse,
      { status: RelayStatus.RELAY_STATUS_OK },
      MAX_RELAY_FRAME_BYTES,
    );
    onCircuit({ stream, source, relay, limits });
  };
}
