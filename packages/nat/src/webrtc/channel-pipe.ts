// A data channel as a message pipe for the detr stream multiplexer: one mux message is one SCTP
// message. DTLS already encrypts and authenticates every message on the channel, and the detr
// handshake run first is bound to both DTLS certificates (secure.ts), so the pipe adds no framing
// and no second AEAD.
//
// Half-close: closing a data channel resets both directions at once, so `end()` sends an empty
// message instead (mux messages are never empty) and the channel is closed once both sides have
// ended, or `endTimeoutMs` after ours. A channel that closes before the remote's empty message is
// an abrupt end (an error).
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
  /** Messages received before `start()` that are kept (more is a protocol violation). @default 256 */
  maxEarlyMessages?: number;
  /** After our `end()`, how long to wait for the remote's before closing the channel. @default 5000 */
  endTimeoutMs?: number;
}

const EOF = new Uint8Array(0);

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
): ChannelPipe & {
  /** Resolves once the channel is closed (both ends ended, a failure, or a destroy). */
  whenClosed(): Promise<void>;
} {
  const remoteMax = safe(() => channel.maxMessageSize(), 65536);
  const maxMessageBytes = Math.max(1024, Math.min(options.maxMessageBytes ?? 262144, remoteMax));
  const high = options.sendHighWaterBytes ?? 1 << 20;
  const maxEarly = options.maxEarlyMessages ?? 256;
  const endTimeoutMs = options.endTimeoutMs ?? 5000;
  const stats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0 };
  let handlers: ChannelPipeHandlers | undefined;
  // Events before start() wait here, in order.
  const early: Array<Uint8Array | 'end' | Error> = [];
  let blocked = false;
  let localEnded = false;
  let remoteEnded = false;
  let closed = false;
  let failed = false;
  let endTimer: NodeJS.Timeout | undefined;
  let markClosed: () => void = () => {};
  const whenClosed = new Promise<void>((resolve) => (markClosed = resolve));

  const closeChannel = (): void => {
    if (closed) return;
    closed = true;
    if (endTimer !== undefined) clearTimeout(endTimer);
    safe(() => channel.close(), undefined);
    markClosed();
  };
  const deliver = (event: Uint8Array | 'end' | Error, penalty?: PenaltyReason): void => {
    if (handlers === undefined) {
      early.push(event);
      return;
    }
    if (event === 'end') handlers.onEnd();
    else if (event instanceof Error) handlers.onError(event, penalty);
    else handlers.onMessage(event);
  };
  const fail = (err: Error, penalty?: PenaltyReason): void => {
    if (failed || (closed && remoteEnded)) return;
    failed = true;
    closeChannel();
    deliver(err, penalty);
  };

  channel.setBufferedAmountLowThreshold(options.sendLowWaterBytes ?? 256 << 10);
  channel.onBufferedAmountLow(() => {
    if (!blocked || closed) return;
    blocked = false;
    try {
      handlers?.onDrain();
    } catch (err) {
      fail(err as Error);
    }
  });
  channel.onMessage((msg) => {
    if (failed || remoteEnded) return;
    try {
      if (typeof msg === 'string') {
        fail(new DataChannelError('text message on a binary channel'), 'protocol-violation');
        return;
      }
      const bytes = Buffer.isBuffer(msg) ? msg : new Uint8Array(msg);
      stats.bytesReceived += bytes.length;
      if (bytes.length === 0) {
        remoteEnded = true;
        deliver('end');
        if (localEnded) closeChannel();
        return;
      }
      if (handlers === undefined && early.length >= maxEarly) {
        fail(new DataChannelError('too many messages before start'), 'protocol-violation');
        return;
      }
      deliver(bytes);
    } catch (err) {
      fail(err as Error);
    }
  });
  channel.onClosed(() => {
    const wasClosed = closed;
    closed = true;
    markClosed();
    if (endTimer !== undefined) clearTimeout(endTimer);
    if (wasClosed || remoteEnded || failed) return;
    failed = true;
    deliver(new DataChannelError('data channel closed without an end'));
  });
  channel.onError((e) =>
    fail(new DataChannelError(`data channel error: ${String(e).slice(0, 200)}`)),
  );

  return {
    maxMessageBytes,
    stats,
    whenClosed: () => whenClosed,
    start(h) {
      if (handlers !== undefined) throw new Error('pipe already started');
      handlers = h;
      for (const e of early.splice(0)) deliver(e);
    },
    write(messages) {
      if (closed || localEnded || failed) return false;
      // libdatachannel's send returns true when the message left at once (nothing queued): the
      // buffered amount is asked for (a native call taking the transport's lock) only otherwise.
      let queued = false;
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
          if (message.length === 0) continue;
          if (!channel.sendMessageBinary(message)) queued = true;
          stats.bytesSent += message.length;
          stats.messagesSent++;
        }
      } catch (err) {
        if (err instanceof RangeError) fail(err);
        // The channel closed or is being reset under us (the remote ended and closed it: usrsctp
        // says EPIPE): onClosed reports how it ended — cleanly after the remote's end, or not.
        else if (
          remoteEnded ||
          !safe(() => channel.isOpen(), false) ||
          /errno=32\b/.test((err as Error).message)
        )
          return false;
        else fail(new DataChannelError(`send failed: ${(err as Error).message}`));
        return false;
      }
      if (queued && safe(() => channel.bufferedAmount(), 0) > high) {
        blocked = true;
        return false;
      }
      return true;
    },
    end() {
      if (localEnded || closed || failed) return;
      localEnded = true;
      try {
        channel.sendMessageBinary(EOF);
      } catch {
        closeChannel();
        return;
      }
      if (remoteEnded) closeChannel();
      else {
        endTimer = setTimeout(closeChannel, endTimeoutMs);
        endTimer.unref();
      }
    },
    destroy() {
      failed = true;
      closeChannel();
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
