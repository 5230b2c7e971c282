// One multiplexed stream as a Node duplex. The flow-control state lives here (read and written by
// the connection on every frame); the I/O decisions are the connection's (see connection.ts).
import { Duplex } from 'node:stream';
import type { Direction, Stream } from '@detr/interface';

/** What a stream asks of the connection that carries it. */
export interface StreamOwner {
  /** Frames `chunk` as data within the stream's credit; calls `cb` once it may take more. */
  writeData(stream: MuxStream, chunk: Uint8Array, cb: (err?: Error | null) => void): void;
  /** Our side is done writing: sends the half-close. */
  finishWrite(stream: MuxStream): void;
  /** The reader took data: maybe grant the remote more credit. */
  consumed(stream: MuxStream): void;
  /** The stream is gone (ended both ways, reset, or failed). */
  destroyed(stream: MuxStream): void;
}

const noop = (): void => {};

/** A write that waits for send credit. */
export interface PendingWrite {
  chunk: Uint8Array;
  offset: number;
  cb: (err?: Error | null) => void;
}

export class MuxStream extends Duplex implements Stream {
  readonly id: number;
  readonly protocol: string;
  readonly direction: Direction;
  readonly unidirectional: boolean;
  private readonly owner: StreamOwner;

  /** Bytes we may still send before the remote grants more. */
  sendCredit: number;
  /** Total bytes the remote may send us (initial window plus every credit granted). */
  recvAllowed: number;
  /** Total data bytes received. */
  recvReceived = 0;
  /** Total data bytes pushed to the readable side. */
  pushed = 0;
  /** Total bytes of consumed data already credited back. */
  credited = 0;
  /** The receive window now (it grows while the reader keeps up; see MuxConnection.consumed). */
  window: number;
  /** When we last granted credit (performance.now()). */
  lastGrantAt = 0;
  /** Our writing is over: half-close sent, or never allowed to write (unidirectional inbound). */
  sendDone: boolean;
  /** The remote's writing is over: its half-close arrived, or it may not write (unidirectional outbound). */
  recvDone: boolean;
  /** The stream ended by a reset from the remote: do not answer with one. */
  resetByRemote = false;
  pending: PendingWrite | undefined;

  constructor(
    owner: StreamOwner,
    id: number,
    protocol: string,
    direction: Direction,
    unidirectional: boolean,
    sendCredit: number,
    recvAllowed: number,
    highWaterMark: number,
  ) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: highWaterMark,
      writableHighWaterMark: highWaterMark,
    });
    this.owner = owner;
    this.id = id;
    this.protocol = protocol;
    this.direction = direction;
    this.unidirectional = unidirectional;
    this.sendCredit = sendCredit;
    this.recvAllowed = recvAllowed;
    this.window = recvAllowed;
    this.sendDone = unidirectional && direction === 'inbound';
    this.recvDone = unidirectional && direction === 'outbound';
    // Stream errors surface through reads, writes and `errored`; never as an uncaught 'error'.
    this.on('error', noop);
    if (this.recvDone) {
      this.push(null);
      this.resume();
    }
    if (this.sendDone) this.end();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.owner.writeData(this, chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.sendDone) {
      this.sendDone = true;
      this.owner.finishWrite(this);
    }
    cb();
  }

  override _read(): void {
    this.owner.consumed(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    this.owner.destroyed(this);
    if (pending !== undefined) pending.cb(err ?? new Error('stream destroyed'));
    cb(err);
  }

  reset(reason?: Error): void {
    this.destroy(reason);
  }
}
