// A Duplex over a SecureSession and an underlying byte stream, with backpressure both ways:
// - writes are sealed (several queued writes coalesce into one message, up to 65,519 bytes) and
//   the write callback waits for the underlying stream's 'drain';
// - received plaintext is pushed as it authenticates, and the underlying stream is paused while
//   our readable buffer is full.
// End of stream is authenticated: `end()` sends an empty message before the underlying FIN, and
// an underlying EOF without it (or in the middle of a frame) is a TruncatedStreamError.
import { Duplex } from 'node:stream';
import { ClosedError } from '@detr/interface';
import { TruncatedStreamError } from '../errors.js';
import { MAX_PLAINTEXT_BYTES, type SecureSession } from './session.js';

/** Options of {@link createSecureStream}. */
export interface SecureStreamOptions {
  /** Bytes already read from the underlying stream past the handshake (`performHandshake`'s `remainder`). */
  remainder?: Uint8Array;
  /**
   * The readable side's buffer limit in bytes before the underlying stream is paused.
   *
   * @default 262144 (256 KiB)
   */
  readableHighWaterMark?: number;
  /**
   * The writable side's buffer limit in bytes.
   *
   * @default 262144 (256 KiB)
   */
  writableHighWaterMark?: number;
  /**
   * After a graceful end, how long the underlying stream may take to flush before it is destroyed.
   *
   * @default 10000
   */
  flushTimeoutMs?: number;
}

const EMPTY = new Uint8Array(0);

class SecureStream extends Duplex {
  private readonly socket: Duplex;
  private readonly session: SecureSession;
  private endMarkerSeen = false;
  private endPushed = false;
  private readonly flushTimeoutMs: number;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onError: (err: Error) => void;
  private readonly onClose: () => void;
  private readonly onMessage: (plaintext: Uint8Array) => void;

  constructor(socket: Duplex, session: SecureSession, options: SecureStreamOptions) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 256 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 256 * 1024,
    });
    this.socket = socket;
    this.session = session;
    this.flushTimeoutMs = options.flushTimeoutMs ?? 10_000;
    this.onMessage = (plaintext) => {
      if (this.endMarkerSeen) {
        // Nothing may follow the authenticated end of stream.
        throw new TruncatedStreamError('Data after the end of the secure stream');
      }
      if (plaintext.length === 0) {
        this.endMarkerSeen = true;
        return;
      }
      if (!this.push(plaintext)) this.socket.pause();
    };
    this.onData = (chunk) => this.receive(chunk);
    this.onEnd = () => {
      try {
        this.session.end();
        if (!this.endMarkerSeen) throw new TruncatedStreamError();
        this.pushEnd();
      } catch (err) {
        this.destroy(err as Error);
      }
    };
    this.onError = (err) => this.destroy(err);
    this.onClose = () => {
      if (this.destroyed) return;
      // Closed without the authenticated end marker: the stream was cut off.
      if (!this.endMarkerSeen) this.destroy(new ClosedError('The underlying stream closed'));
      else this.pushEnd();
    };
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
    if (options.remainder !== undefined && options.remainder.length > 0) {
      this.receive(options.remainder);
    }
    socket.on('data', this.onData);
    if (socket.isPaused()) socket.resume();
  }

  private pushEnd(): void {
    if (this.endPushed) return;
    this.endPushed = true;
    this.push(null);
  }

  private receive(chunk: Uint8Array): void {
    if (this.destroyed) return;
    try {
      this.session.open(chunk, this.onMessage);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  private writeFrames(frames: Buffer[][], callback: (err?: Error | null) => void): void {
    const socket = this.socket;
    let ok = true;
    socket.cork();
    for (const frame of frames) {
      for (const b of frame) ok = socket.write(b);
    }
    socket.uncork();
    if (ok) {
      // Complete on the next tick rather than now: writes made in the same tick queue up and reach
      // _writev together, so they are sealed as one message (one AEAD call, one writev).
      process.nextTick(callback);
      return;
    }
    const cleanup = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      callback();
    };
    const onClose = (): void => {
      cleanup();
      callback(new ClosedError('The underlying stream closed'));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  }

  /** Seals `chunks` into as few messages as possible (each ≤ 65,519 bytes). */
  private sealAll(chunks: readonly Uint8Array[]): Buffer[][] {
    const frames: Buffer[][] = [];
    let parts: Uint8Array[] = [];
    let size = 0;
    for (let chunk of chunks) {
      while (chunk.length > 0) {
        const room = MAX_PLAINTEXT_BYTES - size;
        const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
        parts.push(piece);
        size += piece.length;
        chunk = chunk.subarray(piece.length);
        if (size === MAX_PLAINTEXT_BYTES) {
          frames.push(this.session.seal(parts));
          parts = [];
          size = 0;
        }
      }
    }
    if (size > 0) frames.push(this.session.seal(parts));
    return frames;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    let frames: Buffer[][];
    try {
      frames = this.sealAll([chunk]);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.writeFrames(frames, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (err?: Error | null) => void,
  ): void {
    let frames: Buffer[][];
    try {
      frames = this.sealAll(chunks.map((c) => c.chunk));
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.writeFrames(frames, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    let frame: Buffer[];
    try {
      frame = this.session.seal(EMPTY);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.writeFrames([frame], (err) => {
      if (err) {
        callback(err);
        return;
      }
      this.socket.end();
      callback();
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    // Keep a listener so a late socket error is not unhandled.
    socket.off('error', this.onError);
    socket.on('error', () => {});
    this.session.close();
    if (err === null && socket.writableEnded && !socket.writableFinished && !socket.destroyed) {
      // A graceful end: let the underlying stream flush what we wrote (the end marker, the FIN)
      // before closing it, within a bound.
      const timer = setTimeout(() => socket.destroy(), this.flushTimeoutMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
      };
      socket.once('finish', done);
      socket.once('close', done);
    } else {
      socket.destroy();
    }
    callback(err);
  }
}

/**
 * Wraps an underlying byte stream and an established {@link SecureSession} into a Duplex of
 * plaintext, with backpressure in both directions. Writes coalesce: the first write is sealed
 * and sent at once; writes made while it completes (the rest of the same tick), while the
 * underlying stream is busy, or between `cork()` and `uncork()` are sealed together into as few
 * messages as possible (each ≤ 65,519 bytes). `end()` sends an authenticated end-of-stream marker; an underlying EOF without it
 * destroys the stream with {@link TruncatedStreamError}. Any authentication failure destroys both
 * streams with the typed error. Destroying the secure stream destroys the underlying one.
 *
 * @example
 * ```ts
 * const { session, remainder } = await performHandshake(socket, options)
 * const secure = createSecureStream(socket, session, { remainder })
 * secure.write('hello')
 * ```
 */
export function createSecureStream(
  socket: Duplex,
  session: SecureSession,
  options: SecureStreamOptions = {},
): Duplex {
  return new SecureStream(socket, session, options);
}
