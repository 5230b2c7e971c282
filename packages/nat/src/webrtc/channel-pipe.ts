// A data channel as a message pipe for the detr stream multiplexer: one mux message is one SCTP
// message. DTLS already encrypts and authenticates every message on the channel, and the Noise
// handshake run first binds both DTLS certificates (see handshake.ts), so the pipe adds no framing
// and no second AEAD.
import type { DataChannel } from 'node-datachannel';
import type { PenaltyReason } from '@detr/interface';
import { DataChannelError } from '../errors.js';

/** What a {@link ChannelPipe} reports (the shape of `@detr/transport`'s pipe handlers). */
export interface ChannelPipeHandlers {
  onMessage(message: Uint8Array): void;
  onDrain(): void;
  onEnd(): void;
  onError(err: Error, penalty?: PenaltyReason): void;
}

/** A message pipe over one data channel (the shape of `@detr/transport`'s `MessagePipe`). */
export interface ChannelPipe {
  readonly maxMessageBytes: number;
  start(handlers: ChannelPipeHandlers): void;
  write(messages: readonly (readonly Uint8Array[])[]): boolean;
  end(): void;
  destroy(): void;
  /** Bytes sent and received as channel messages. */
  readonly stats: { bytesSent: number; bytesReceived: number; messagesSent: number };
}

export interface ChannelPipeOptions {
  /** Largest message; capped by what the remote accepts. @default 262144 */
  maxMessageBytes?: number;
  /** `write` returns false while the channel buffers more than this. @default 1 MiB */
  sendHighWaterBytes?: number;
  /** `onDrain` fires when the buffer falls to this. @default 256 KiB */
  sendLowWaterBytes?: number;
  /** Messages received before `start()` that are kept (more is a protocol violation). @default 64 */
  maxEarlyMessages?: number;
}

/**
 * Wraps an open data channel as a message pipe. The channel is owned by the pipe from now on:
 * its callbacks are replaced, and `destroy()` closes it.
 *
 * @example
 * ```ts
 * const pipe = createChannelPipe(channel)
 * pipe.start({ onMessage, onDrain, onEnd, onError })
 * pipe.write([[header, payload]])
 * ```
 */
export function createChannelPipe(
  channel: DataChannel,
  options: ChannelPipeOptions = {},
): ChannelPipe {
  const remoteMax = safe(() => channel.maxMessageSize(), 65536);
  const maxMessageBytes = Math.max(1024, Math.min(options.maxMessageBytes ?? 262144, remoteMax));
  const high = options.sendHighWaterBytes ?? 1 << 20;
  const maxEarly = options.maxEarlyMessages ?? 64;
  const stats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0 };
  let handlers: ChannelPipeHandlers | undefined;
  const early: Uint8Array[] = [];
  let blocked = false;
  let done = false;
  let endedRemotely = false;
  let pendingError: Error | undefined;

  const fail = (err: Error, penalty?: PenaltyReason): void => {
    if (done) return;
    done = true;
    safe(() => channel.close(), undefined);
    if (handlers === undefined) pendingError = err;
    else handlers.onError(err, penalty);
  };

  channel.setBufferedAmountLowThreshold(options.sendLowWaterBytes ?? 256 << 10);
  channel.onBufferedAmountLow(() => {
    if (!blocked || done) return;
    blocked = false;
    try {
      handlers?.onDrain();
    } catch (err) {
      fail(err as Error);
    }
  });
  channel.onMessage((msg) => {
    if (done) return;
    try {
      if (typeof msg === 'string') {
        fail(new DataChannelError('text message on a binary channel'), 'protocol-violation');
        return;
      }
      const bytes = Buffer.isBuffer(msg) ? msg : new Uint8Array(msg);
      stats.bytesReceived += bytes.length;
      if (handlers === undefined) {
        if (early.length >= maxEarly) {
          fail(new DataChannelError('too many messages before start'), 'protocol-violation');
          return;
        }
        early.push(bytes);
        return;
      }
      handlers.onMessage(bytes);
    } catch (err) {
      fail(err as Error);
    }
  });
  channel.onClosed(() => {
    if (done) return;
    done = true;
    endedRemotely = true;
    try {
      handlers?.onEnd();
    } catch {
      // the handler's problem
    }
  });
  channel.onError((e) =>
    fail(new DataChannelError(`data channel error: ${String(e).slice(0, 200)}`)),
  );

  return {
    maxMessageBytes,
    stats,
    start(h) {
      if (handlers !== undefined) throw new Error('pipe already started');
      handlers = h;
      for (const m of early.splice(0)) {
        if (done && !endedRemotely) break;
        h.onMessage(m);
      }
      if (pendingError !== undefined) h.onError(pendingError, 'protocol-violation');
      else if (endedRemotely) h.onEnd();
    },
    write(messages) {
      if (done) return false;
      try {
        for (const pieces of messages) {
          let message: Uint8Array;
          if (pieces.length === 1) message = pieces[0] as Uint8Array;
          else {
            let len = 0;
            for (const p of pieces) len += p.length;
            const joined = Buffer.allocUnsafe(len);
            let off = 0;
            for (const p of pieces) {
              joined.set(p, off);
              off += p.length;
            }
            message = joined;
          }
          if (message.length > maxMessageBytes) {
            throw new RangeError(`message of ${message.length} bytes > ${maxMessageBytes}`);
          }
          channel.sendMessageBinary(message);
          stats.bytesSent += message.length;
          stats.messagesSent++;
        }
      } catch (err) {
        fail(
          err instanceof RangeError
            ? err
            : new DataChannelError(`send failed: ${(err as Error).message}`),
        );
        return false;
      }
      if (safe(() => channel.bufferedAmount(), 0) > high) {
        blocked = true;
        return false;
      }
      return true;
    },
    end() {
      if (done) return;
      done = true;
      safe(() => channel.close(), undefined);
    },
    destroy() {
      if (done) return;
      done = true;
      safe(() => channel.close(), undefined);
    },
  };
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
