// Per-stream credit, both ways (the README's flow-control rules): what a stream may send now, the
// write that waits for more, and the credit we grant back as the reader consumes, with windows
// that grow while the window (not the reader) limits a stream.
import { performance } from 'node:perf_hooks';
import type { MuxSettings } from './options.js';
import type { Outbox } from './outbox.js';
import type { MuxStream } from './stream.js';

/** A window refilled faster than this (or two round trips) grows. */
const GROW_WITHIN_MS = 10;

/** What the credit rules need from their connection. */
export interface FlowOwner {
  /** The last keepalive round trip, if measured. */
  readonly rttMs: number | undefined;
  /** Queues a MuxWindowUpdate. */
  grant(streamId: number, creditBytes: number): void;
}

export class Flow {
  /** Bytes the connection's windows grew above their start, all streams together. */
  private growth = 0;

  constructor(
    private readonly owner: FlowOwner,
    private readonly outbox: Outbox,
    private readonly settings: MuxSettings,
  ) {}

  /** Queues what the stream's credit allows of `chunk`; the rest waits for credit with `cb`. */
  write(stream: MuxStream, chunk: Uint8Array, cb: (err?: Error | null) => void): void {
    const off = this.sendWithinCredit(stream, chunk, 0);
    if (off < chunk.length) stream.pending = { chunk, offset: off, cb };
    else this.outbox.afterWrite(cb);
  }

  /** The remote granted `credit` more bytes on `stream`: resume a write that waited for it. */
  credited(stream: MuxStream, credit: number, closed: boolean): void {
    stream.sendCredit += credit;
    const p = stream.pending;
    if (p === undefined || closed) return;
    p.offset = this.sendWithinCredit(stream, p.chunk, p.offset);
    if (p.offset < p.chunk.length) return;
    stream.pending = undefined;
    this.outbox.afterWrite(p.cb);
  }

  /** The stream's reader consumed data: grant it back once that is half the window. */
  consumed(stream: MuxStream): void {
    const consumed = stream.pushed - stream.readableLength - stream.credited;
    if (consumed < stream.window / 2 || stream.recvDone) return;
    let extra = 0;
    // Credit asked for again within a few round trips: the window, not the reader, limits the
    // stream. Let it grow, within the limits (a slower reader never makes it grow).
    const now = performance.now();
    const s = this.settings;
    if (
      now - stream.lastGrantAt < Math.max(2 * (this.owner.rttMs ?? 0), GROW_WITHIN_MS) &&
      stream.window < s.maxStreamWindowBytes &&
      this.growth + stream.window <= s.maxConnectionWindowBytes
    ) {
      extra = Math.min(stream.window, s.maxStreamWindowBytes - stream.window);
      stream.window += extra;
      this.growth += extra;
    }
    stream.lastGrantAt = now;
    stream.credited += consumed;
    stream.recvAllowed += consumed + extra;
    this.owner.grant(stream.id, consumed + extra);
  }

  /** The stream ended: its window's growth is free for others. */
  released(stream: MuxStream): void {
    this.growth -= stream.window - this.settings.streamWindowBytes;
  }

  /** Queues as much of `chunk` from `from` as the stream's credit allows (the outbox frames it). */
  private sendWithinCredit(stream: MuxStream, chunk: Uint8Array, from: number): number {
    const n = Math.min(chunk.length - from, stream.sendCredit);
    if (n <= 0) return from;
    this.outbox.data(
      stream.id,
      from === 0 && n === chunk.length ? chunk : chunk.subarray(from, from + n),
    );
    stream.sendCredit -= n;
    return from + n;
  }
}
