// The send side of a mux connection: frames queued during one tick leave together, packed into as
// few messages as fit (each message is one AEAD seal in the Noise pipe) and handed to the pipe in
// one write (one socket write). Writers wait while too much is queued; control frames the remote
// makes us queue while it does not read are capped.
//
// Data is framed here, at flush time: a stream's bytes fill the message they start in and go on
// in the next, so a bulk writer's messages are full (a 64 KiB write does not leave a 25-byte
// message of its own behind: each message is an AEAD seal, a frame to parse and a read event on
// the other side; bulk on one stream: ~1.1 instead of 2 messages per 64 KiB write, +8–10%).
import { ClosedError } from '@detr/interface';
import type { MessagePipe } from '../pipe.js';

/** What the outbox calls on its connection. */
export interface OutboxOwner {
  /** The remote made us queue more control frames than allowed. */
  controlOverflow(): void;
  /** Encodes the header of a data frame of `bytes` on stream `streamId`. */
  dataHeader(streamId: number, bytes: number): Uint8Array;
}

const NONE = 0;
/**
 * A flush at the end of this tick (process.nextTick): frames queued during the tick leave
 * together. A tick, not a microtask: Node runs a stream's write callbacks as ticks too, queued
 * after this one, so a writer is told its data is written only once it has been sealed (it may
 * reuse its buffer then); a microtask would run after them when the write came from an I/O or
 * timer callback.
 */
const TICK = 1;
/** A setImmediate flush asked for by {@link Outbox.deferNextFlush}. */
const DEFERRED = 2;
/** A setImmediate flush for lazy frames only. */
const LAZY = 3;
/** Marks the setImmediate task (either kind of setImmediate flush). */
const IMMEDIATE = 4;
type Scheduled = typeof NONE | typeof TICK | typeof DEFERRED | typeof LAZY;

/** A queued frame: a control frame (`a`), or data (`b`) of stream `sid`, framed at flush. */
interface OutFrame {
  a: Uint8Array | undefined;
  b: Uint8Array | undefined;
  sid: number;
  len: number;
}

/** Room kept for a data frame's header (the largest a header can be). */
const DATA_HEADER_MAX_BYTES = 24;
/** A data frame is split so that its first part fills a message only if that part is this long. */
const MIN_FRAGMENT_BYTES = 1024;

/** Counters read by tests and benchmarks (not part of the public contract). */
export interface MuxCounters {
  /** Messages handed to the pipe (each one AEAD seal in the Noise pipe). */
  messagesSent: number;
  /** `pipe.write` calls (each one socket write). */
  pipeWrites: number;
  framesSent: number;
  framesReceived: number;
}

export class Outbox {
  messagesSent = 0;
  pipeWrites = 0;
  framesSent = 0;
  framesReceived = 0;
  bytesSent = 0;
  private out: OutFrame[] = [];
  private outBytes = 0;
  private controlBytes = 0;
  /** Which flush is scheduled, if any. */
  private scheduled: Scheduled = NONE;
  /** The next flush waits for setImmediate instead of a microtask (see {@link deferNextFlush}). */
  private deferOnce = false;
  private blocked = false;
  private closed = false;
  /** Writers waiting for the queue to drain (created when the first one waits). */
  private writers: Array<(err?: Error | null) => void> | undefined;

  constructor(
    private readonly owner: OutboxOwner,
    private readonly pipe: MessagePipe,
    private readonly sendBufferBytes: number,
    private readonly maxControlBytes: number,
  ) {}

  /** A snapshot of the counters. */
  get counters(): MuxCounters {
    return {
      messagesSent: this.messagesSent,
      pipeWrites: this.pipeWrites,
      framesSent: this.framesSent,
      framesReceived: this.framesReceived,
    };
  }

  /** Queues data of stream `streamId` (framed at flush; the payload is never copied whole). */
  data(streamId: number, payload: Uint8Array): void {
    this.push({ a: undefined, b: payload, sid: streamId, len: payload.length + 8 });
  }

  /**
   * Queues a control frame; false (and the overflow callback) when the cap is passed. A `lazy`
   * frame (one nothing waits for, such as the reset of a stream we destroyed) alone waits for the
   * end of this turn of the event loop, so that it rides with whatever comes next, or is dropped
   * with everything queued if the connection is aborted meanwhile; anything else queued before
   * then makes it leave with the usual flush.
   */
  control(frame: Uint8Array, lazy = false): boolean {
    if (this.closed) return false;
    this.controlBytes += frame.length;
    if (this.controlBytes > this.maxControlBytes) {
      this.owner.controlOverflow();
      return false;
    }
    this.push({ a: frame, b: undefined, sid: 0, len: frame.length }, lazy);
    return true;
  }

  /** Queues a frame past the control cap (the last GoAway). */
  last(frame: Uint8Array): void {
    this.push({ a: frame, b: undefined, sid: 0, len: frame.length });
  }

  /** Calls `cb` now when little is queued, or once the queue drained below the limit. */
  afterWrite(cb: (err?: Error | null) => void): void {
    if (this.outBytes < this.sendBufferBytes) cb();
    else (this.writers ??= []).push(cb);
  }

  /**
   * Lets the next flush wait until this turn of the event loop is over, so frames queued by the
   * promise continuations it wakes (a dialer's first stream, right after the listener accepted)
   * leave in the same write as the frames queued now (the answer to the listener's first ping).
   */
  deferNextFlush(): void {
    if (this.scheduled === NONE) this.deferOnce = true;
  }

  /** The pipe drained. */
  drained(): void {
    this.blocked = false;
    this.flush();
  }

  /** Stops everything; waiting writers get `err` (a ClosedError when none is given). */
  close(err: Error | undefined): void {
    this.closed = true;
    this.out = [];
    this.outBytes = 0;
    const writers = this.writers;
    if (writers === undefined) return;
    this.writers = undefined;
    const e = err ?? new ClosedError('The connection closed');
    for (const cb of writers) cb(e);
  }

  private push(f: OutFrame, lazy = false): void {
    if (this.closed) return;
    this.out.push(f);
    this.outBytes += f.len;
    if (this.scheduled === NONE) {
      if (this.deferOnce || lazy) {
        this.scheduled = this.deferOnce ? DEFERRED : LAZY;
        this.deferOnce = false;
        setImmediate(this.flushTask, IMMEDIATE);
      } else {
        this.scheduled = TICK;
        process.nextTick(this.flushTask);
      }
    } else if (this.scheduled === LAZY && !lazy) {
      // Only lazy frames were waiting: this one does not wait for them.
      this.scheduled = TICK;
      process.nextTick(this.flushTask);
    }
  }

  // The flush as tasks for process.nextTick and setImmediate, made once (no closure per tick);
  // each runs only if its kind of flush is still the one scheduled (a lazy flush overtaken by a
  // tick one finds nothing to do).
  private readonly flushTask: (kind?: typeof IMMEDIATE) => void = this.flushIf.bind(this);

  /** Runs from process.nextTick (no argument) or setImmediate (`IMMEDIATE`). */
  private flushIf(kind?: typeof IMMEDIATE): void {
    const s = this.scheduled;
    if (kind === IMMEDIATE ? s === DEFERRED || s === LAZY : s === TICK) this.flush();
  }

  /** Sends everything queued, in as few messages as fit (data split where a message is full). */
  flush(): void {
    this.scheduled = NONE;
    if (this.blocked || this.closed) return;
    if (this.out.length === 0) {
      this.releaseWriters();
      return;
    }
    const max = this.pipe.maxMessageBytes;
    const messages: Uint8Array[][] = [];
    let cur: Uint8Array[] = [];
    let curBytes = 0;
    let frames = 0;
    // (No closure for "next message" here: one per flush costs more than the rest of a small one.)
    for (const f of this.out) {
      const control = f.a;
      if (control !== undefined) {
        if (curBytes + control.length > max && curBytes > 0) {
          messages.push(cur);
          cur = [];
          curBytes = 0;
        }
        cur.push(control);
        curBytes += control.length;
        frames++;
        continue;
      }
      const payload = f.b as Uint8Array;
      let o = 0;
      for (;;) {
        const rest = payload.length - o;
        const room = max - curBytes - DATA_HEADER_MAX_BYTES;
        if (room < Math.min(rest, MIN_FRAGMENT_BYTES)) {
          messages.push(cur);
          cur = [];
          curBytes = 0;
          continue;
        }
        const n = Math.min(rest, room);
        const part = n === payload.length ? payload : payload.subarray(o, o + n);
        const header = this.owner.dataHeader(f.sid, n);
        cur.push(header, part);
        curBytes += header.length + n;
        frames++;
        o += n;
        if (o >= payload.length) break;
      }
    }
    messages.push(cur);
    this.framesSent += frames;
    this.messagesSent += messages.length;
    this.pipeWrites++;
    this.bytesSent += this.outBytes;
    this.out = [];
    this.outBytes = 0;
    this.controlBytes = 0;
    if (!this.pipe.write(messages)) {
      this.blocked = true;
      return;
    }
    this.releaseWriters();
  }

  /** Lets waiting writers go on (nothing is queued and the pipe takes more). */
  private releaseWriters(): void {
    const writers = this.writers;
    if (writers === undefined) return;
    this.writers = undefined;
    for (const cb of writers) cb();
  }
}
