// A native QUIC stream as a detr Stream. QUIC gives ordering, flow control and FIN/RESET; detr adds
// protocol selection in-band:
//
//   opener → acceptor:  MuxOpen frame (protocol, unidirectional), then raw data
//   acceptor → opener:  0x00 (accepted), then raw data          — sent with its first bytes
//                   or  MuxReset frame (refused / unknown protocol), then FIN
//
// A frame never starts with 0x00 (its length prefix is at least 2), so one byte tells them apart.
// On a unidirectional stream the acceptor sends nothing but its FIN, and only after it read the
// opener's FIN: the opener's stream is done (for graceful close) once its data was consumed.
import { Duplex } from 'node:stream';
import type { Direction, Stream } from '@detr/interface';
import {
  ClosedError,
  StreamRefusedError,
  StreamResetError,
  UnknownProtocolError,
} from '@detr/interface';
import { MessageType, MuxErrorCode, SUPPORTED_VERSIONS, decodeMessage } from '@detr/protocol';
import { CheckedDecoder, type FrameRules } from '../frames.js';
import type { NativeStream } from './binding.js';

/** What a QUIC stream reports to its connection. */
export interface QuicStreamOwner {
  /** The native stream is finished both ways (or reset): it no longer counts. */
  nativeDone(stream: QuicStream): void;
  /** The remote broke the stream protocol: fail the connection. */
  violation(message: string, cause?: unknown): void;
  /** The error to give streams when the native layer fails: the connection's, if it closed. */
  failure(): Error | undefined;
}

const ACCEPTED = Uint8Array.of(0);
const MIN_READ = 16 * 1024;
const MAX_READ = 1024 * 1024;
/** Most bytes of a status frame (MuxReset with a 256-byte reason, plus framing). */
const MAX_STATUS_BYTES = 320;
const noop = (): void => {};
const STATUS_RULES: FrameRules = {
  maxFrameBytes: MAX_STATUS_BYTES,
  versions: SUPPORTED_VERSIONS,
  types: [MessageType.MuxReset],
};

export interface QuicStreamInit {
  native: NativeStream;
  id: number;
  protocol: string;
  direction: Direction;
  unidirectional: boolean;
  /** Opener: the MuxOpen frame, sent before the first data. */
  header?: Uint8Array;
  /** Acceptor: bytes read past the header. */
  initial?: Uint8Array;
  highWaterMark: number;
  /** Connection byte counters, updated by every stream. */
  counters: { bytesSent: number; bytesReceived: number };
}

export class QuicStream extends Duplex implements Stream {
  readonly id: number;
  readonly protocol: string;
  readonly direction: Direction;
  readonly unidirectional: boolean;
  private readonly native: NativeStream;
  private readonly owner: QuicStreamOwner;
  private readonly counters: QuicStreamInit['counters'];
  /** Bytes to put before our first write: the open header, or the accepted status byte. */
  private prefix: Uint8Array | undefined;
  /** Opener: the acceptor's status is still to be read. */
  private status: CheckedDecoder | undefined;
  private statusBytes = 0;
  private readSize = MIN_READ;
  private reading = false;
  private nativeSendDone = false;
  private nativeRecvDone = false;
  private reported = false;

  constructor(owner: QuicStreamOwner, init: QuicStreamInit) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: init.highWaterMark,
      writableHighWaterMark: init.highWaterMark,
    });
    this.on('error', noop);
    this.owner = owner;
    this.native = init.native;
    this.counters = init.counters;
    this.id = init.id;
    this.protocol = init.protocol;
    this.direction = init.direction;
    this.unidirectional = init.unidirectional;
    const outbound = init.direction === 'outbound';
    if (outbound) {
      this.prefix = init.header;
      this.status = new CheckedDecoder(STATUS_RULES);
    } else if (!init.unidirectional) {
      this.prefix = ACCEPTED;
    }
    if (init.unidirectional) {
      if (outbound) {
        this.push(null);
        this.resume();
      } else {
        this.end();
      }
    }
    if (init.initial !== undefined && init.initial.length > 0) this.push(init.initial);
    void this.pump();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.send([chunk], cb);
  }

  override _writev(chunks: Array<{ chunk: Uint8Array }>, cb: (err?: Error | null) => void): void {
    this.send(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.unidirectional && this.direction === 'inbound') {
      cb(); // our FIN goes once we read the opener's (see pump)
      return;
    }
    const pre = this.takePrefix();
    const write = pre === undefined ? Promise.resolve() : this.native.write(pre);
    write
      .then(() => this.native.finishWrite())
      .then(
        () => {
          this.nativeSendDone = true;
          this.maybeDone();
          cb();
        },
        (err: unknown) => cb(this.nativeError(err)),
      );
  }

  override _read(): void {
    void this.pump();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.nativeSendDone) void this.native.resetWrite().catch(noop);
    if (!this.nativeRecvDone) void this.native.stopRead().catch(noop);
    this.nativeSendDone = this.nativeRecvDone = true;
    this.maybeDone();
    cb(err);
  }

  reset(reason?: Error): void {
    this.destroy(reason);
  }

  private takePrefix(): Uint8Array | undefined {
    const pre = this.prefix;
    this.prefix = undefined;
    return pre;
  }

  private send(parts: Uint8Array[], cb: (err?: Error | null) => void): void {
    const pre = this.takePrefix();
    if (pre !== undefined) parts.unshift(pre);
    const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    this.counters.bytesSent += data.length;
    this.native.write(data).then(
      () => cb(),
      (err: unknown) => cb(this.nativeError(err)),
    );
  }

  /** Reads the native stream while our reader wants data (and always, to see the remote's FIN). */
  private async pump(): Promise<void> {
    if (this.reading || this.nativeRecvDone) return;
    this.reading = true;
    try {
      for (;;) {
        const chunk = await this.native.read(this.readSize);
        if (this.destroyed) return;
        if (chunk === null) {
          this.remoteFin();
          return;
        }
        this.counters.bytesReceived += chunk.length;
        if (chunk.length === this.readSize && this.readSize < MAX_READ) this.readSize *= 2;
        const data = this.status === undefined ? chunk : this.readStatus(chunk);
        if (data === undefined || data.length === 0) continue;
        if (this.readableEnded || (this.unidirectional && this.direction === 'outbound')) {
          this.owner.violation(`QUIC stream ${this.id}: data where none may come`);
          return;
        }
        if (!this.push(data)) return;
      }
    } catch (err) {
      if (!this.destroyed) {
        this.nativeRecvDone = true;
        this.destroy(this.nativeError(err));
      }
    } finally {
      this.reading = false;
    }
  }

  /** Consumes the acceptor's status; returns the data after it once accepted. */
  private readStatus(chunk: Uint8Array): Uint8Array | undefined {
    if (this.statusBytes === 0 && chunk[0] === 0) {
      this.status = undefined;
      return chunk.subarray(1);
    }
    this.statusBytes += chunk.length;
    try {
      const frames = (this.status as CheckedDecoder).push(chunk);
      const f = frames[0];
      if (f !== undefined) {
        const m = decodeMessage(MessageType.MuxReset, f.body);
        this.nativeRecvDone = true;
        this.destroy(
          m.code === MuxErrorCode.MUX_ERROR_UNKNOWN_PROTOCOL
            ? new UnknownProtocolError(this.protocol)
            : m.code === MuxErrorCode.MUX_ERROR_REFUSED
              ? new StreamRefusedError()
              : new StreamResetError(`The remote reset the stream (code ${m.code})`),
        );
        return undefined;
      }
    } catch (err) {
      this.owner.violation(`QUIC stream ${this.id}: malformed status`, err);
    }
    return undefined;
  }

  private remoteFin(): void {
    this.nativeRecvDone = true;
    this.status = undefined;
    if (this.unidirectional && this.direction === 'inbound') {
      this.native.finishWrite().then(() => {
        this.nativeSendDone = true;
        this.maybeDone();
      }, noop);
    }
    if (!this.readableEnded) this.push(null);
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.reported || !this.nativeSendDone || !this.nativeRecvDone) return;
    this.reported = true;
    this.owner.nativeDone(this);
  }

  private nativeError(err: unknown): Error {
    const failure = this.owner.failure();
    if (failure !== undefined) return failure;
    const text = err instanceof Error ? err.message : String(err);
    if (/reset by peer|stopped by peer/i.test(text)) {
      return new StreamResetError('The remote reset the stream', true, { cause: err });
    }
    return new ClosedError('The QUIC connection closed', { cause: err });
  }
}
