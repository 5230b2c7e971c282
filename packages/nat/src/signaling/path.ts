// A signal path: the two-way channel of one negotiation's signals. Over a detr stream (to the
// peer itself, or to a mutual peer that splices it through), every signal is one frame and
// candidates trickle; through DHT records (dht-path.ts) only offer, answer and close travel.
import type { PeerId, Stream } from '@detr/interface';
import { ProtocolViolationError } from '@detr/interface';
import { MessageType } from '@detr/protocol';
import { readMessage, writeMessage } from '../framed.js';
import {
  fromWire,
  isPeer,
  sameBytes,
  toWire,
  type SignalBody,
  type SignalEnvelope,
} from './signal.js';

/** The stream protocol of signaling (and of forwarding through a mutual peer). */
export const SIGNAL_PROTOCOL = '/detr/nat/signal/1';

/** Largest signaling frame: an SDP of at most 16 KiB plus the envelope. */
export const MAX_SIGNAL_FRAME_BYTES = 20 * 1024;

/** Signals one side may receive in one negotiation (offer/answer, candidates, end, close). */
export const MAX_SIGNALS_PER_SESSION = 80;

/** One negotiation's two-way signal channel. */
export interface SignalPath {
  /** How signals travel: `direct` (a connection to the peer), `relay` (through a mutual peer) or `dht`. */
  readonly route: 'direct' | 'relay' | 'dht';
  /** Whether candidates trickle (false: each description carries all of them). */
  readonly trickle: boolean;
  readonly sessionId: Uint8Array;
  /**
   * Sends one signal.
   *
   * @throws {ClosedError} when the path is closed
   */
  send(body: SignalBody): Promise<void>;
  /**
   * The next signal from the remote.
   *
   * @throws {ProtocolViolationError} when the remote broke the protocol
   * @throws {ClosedError} when the path closed first
   * @throws {TimeoutError} / {AbortError} when `signal` fires first
   */
  next(options?: { signal?: AbortSignal }): Promise<SignalBody>;
  /** Closes the path (idempotent). */
  close(): void;
}

/**
 * A signal path over a stream. `first` is a signal already read from it (the offer of an inbound
 * negotiation); every further frame must carry the same session, `from` = `remote`, `to` = `self`.
 *
 * @example
 * ```ts
 * const stream = await connection.newStream(SIGNAL_PROTOCOL)
 * const path = streamSignalPath(stream, { self, remote, sessionId, route: 'direct' })
 * ```
 */
export function streamSignalPath(
  stream: Stream,
  init: {
    self: PeerId;
    remote: PeerId;
    sessionId: Uint8Array;
    route: 'direct' | 'relay';
    first?: SignalEnvelope;
  },
): SignalPath {
  const pending: SignalBody[] = init.first === undefined ? [] : [init.first.body];
  let received = pending.length;
  let closed = false;
  return {
    route: init.route,
    trickle: true,
    sessionId: init.sessionId,
    async send(body) {
      await writeMessage(
        stream,
        MessageType.Signal,
        toWire({ sessionId: init.sessionId, from: init.self.bytes, to: init.remote.bytes, body }),
        MAX_SIGNAL_FRAME_BYTES,
      );
    },
    async next(options = {}) {
      const queued = pending.shift();
      if (queued !== undefined) return queued;
      const { message } = await readMessage(stream, [MessageType.Signal], {
        maxFrameBytes: MAX_SIGNAL_FRAME_BYTES,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      const e = fromWire(message);
      if (
        !sameBytes(e.sessionId, init.sessionId) ||
        !isPeer(e.from, init.remote) ||
        !isPeer(e.to, init.self)
      ) {
        throw new ProtocolViolationError('signal for another session or peer');
      }
      if (++received > MAX_SIGNALS_PER_SESSION)
        throw new ProtocolViolationError('too many signals');
      return e.body;
    },
    close() {
      if (closed) return;
      closed = true;
      if (!stream.destroyed) stream.end();
      // The remote may never read our end; do not keep the stream waiting for it.
      setTimeout(() => {
        if (!stream.destroyed) stream.reset();
      }, 1000).unref();
    },
  };
}
