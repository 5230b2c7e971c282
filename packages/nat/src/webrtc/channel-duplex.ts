// A node-datachannel DataChannel as a Node Duplex of bytes, with send-side backpressure. The
// receive side cannot push back on the remote (SCTP delivers every message to JS): the protocol on
// top (the detr mux) bounds what a well-behaved peer may have in flight, and a peer that sends
// past `maxReadableBytes` unread is cut off with a DataChannelError.
import { Duplex } from 'node:stream';
import type { DataChannel } from 'node-datachannel';
import { DataChannelError } from '../errors.js';

export interface ChannelDuplexOptions {
  /** Largest message handed to the channel. @default 65536 */
  maxMessageBytes?: number;
  /** Writes wait while the channel buffers more than this. @default 1 MiB */
  sendHighWaterBytes?: number;
  /** Waiting writes resume when the buffer falls to this. @default 256 KiB */
  sendLowWaterBytes?: number;
  /** Unread received bytes above which the remote is cut off. @default 64 MiB */
  maxReadableBytes?: number;
  /** Readable high-water mark (Node's backpressure toward our reader). @default 1 MiB */
  readableHighWaterMark?: number;
}

/** Counters of one channel duplex. */
export interface ChannelDuplexStats {
  bytesSent: number;
  bytesReceived: number;
}

/** A Duplex over a data channel; `channel` stays owned by the duplex (destroy closes it). */
export interface ChannelDuplex extends Duplex {
  readonly stats: ChannelDuplexStats;
}

class DataChannelDuplex extends Duplex implements ChannelDuplex {
  readonly stats: ChannelDuplexStats = { bytesSent: 0, bytesReceived: 0 };
  private readonly maxMessage: number;
  private readonly high: number;
  private readonly maxReadable: number;
  private waiting: (() => void) | undefined;
  private channelClosed = false;

  constructor(
    private readonly channel: DataChannel,
    options: ChannelDuplexOptions,
  ) {
    super({
      allowHalfOpen: false,
      readableHighWaterMark: options.readableHighWaterMark ?? 1 << 20,
      writableHighWaterMark: options.sendLowWaterBytes ?? 256 << 10,
    });
    const remoteMax = safe(() => channel.maxMessageSize(), 65536);
    this.maxMessage = Math.max(1024, Math.min(options.maxMessageBytes ?? 65536, remoteMax));
    this.high = options.sendHighWaterBytes ?? 1 << 20;
    this.maxReadable = options.maxReadableBytes ?? 64 << 20;
    channel.setBufferedAmountLowThreshold(options.sendLowWaterBytes ?? 256 << 10);
    channel.onBufferedAmountLow(() => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
    channel.onMessage((msg) => {
      try {
        this.onMessage(msg);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    channel.onClosed(() => {
      this.channelClosed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
      // The remote closed: what was received stays readable, then 'end'; writes now fail.
      this.push(null);
    });
    channel.onError((err) => {
      this.destroy(new DataChannelError(`data channel error: ${String(err).slice(0, 200)}`));
    });
  }

  private onMessage(msg: string | Buffer | ArrayBuffer): void {
    if (this.destroyed) return;
    if (typeof msg === 'string') {
      this.destroy(new DataChannelError('text message on a binary channel'));
      return;
    }
    const buf = Buffer.isBuffer(msg) ? msg : Buffer.from(msg);
    this.stats.bytesReceived += buf.length;
    if (this.readableLength + buf.length > this.maxReadable) {
      this.destroy(new DataChannelError('remote exceeded the receive bound'));
      return;
    }
    this.push(buf);
  }

  override _read(): void {
    // Messages are pushed as they arrive; nothing to pull.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.send(chunk, cb);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    cb: (err?: Error | null) => void,
  ): void {
    const total = chunks.reduce((n, c) => n + c.chunk.length, 0);
    const joined =
      chunks.length === 1
        ? (chunks[0] as { chunk: Buffer }).chunk
        : Buffer.concat(
            chunks.map((c) => c.chunk),
            total,
          );
    this.send(joined, cb);
  }

  private send(data: Buffer, cb: (err?: Error | null) => void): void {
    if (this.channelClosed) {
      cb(new DataChannelError('data channel closed'));
      return;
    }
    try {
      for (let off = 0; off < data.length; off += this.maxMessage) {
        const piece = data.subarray(off, Math.min(data.length, off + this.maxMessage));
        this.channel.sendMessageBinary(piece);
        this.stats.bytesSent += piece.length;
      }
    } catch (err) {
      cb(new DataChannelError(`send failed: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (safe(() => this.channel.bufferedAmount(), 0) <= this.high) {
      cb();
      return;
    }
    this.waiting = () =>
      this.channelClosed ? cb(new DataChannelError('data channel closed')) : cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    // allowHalfOpen is false: ending our side ends the channel.
    this.closeChannel();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.closeChannel();
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
    cb(err);
  }

  private closeChannel(): void {
    if (this.channelClosed) return;
    this.channelClosed = true;
    safe(() => this.channel.close(), undefined);
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/**
 * Wraps an open data channel as a byte Duplex. Message boundaries are not preserved (the
 * protocol on top frames its own messages).
 *
 * @example
 * ```ts
 * const duplex = createChannelDuplex(channel)
 * duplex.write(frame)
 * duplex.on('data', onBytes)
 * ```
 */
export function createChannelDuplex(
  channel: DataChannel,
  options: ChannelDuplexOptions = {},
): ChannelDuplex {
  return new DataChannelDuplex(channel, options);
}
