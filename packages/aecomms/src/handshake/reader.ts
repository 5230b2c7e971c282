// Reads length-prefixed handshake messages from a Duplex, and hands back whatever was read past
// the last message. The stream flows (its 'data' events come straight from the socket's reads,
// without the paused mode's extra tick and read() per message) but never far: with no message
// awaited and more than one message's worth buffered, it is paused, so a peer flooding bytes
// during the handshake meets the stream's own backpressure. Released, the stream is left paused.
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../errors.js';

/** What is left when nothing was read past the last message (shared: it has no bytes). */
const NOTHING = new Uint8Array(0);

/** Bytes of a handshake message's length prefix (big-endian). */
export const HANDSHAKE_HEADER_BYTES = 2;

interface Waiter {
  resolve(message: Uint8Array): void;
  reject(err: Error): void;
}

export class HandshakeReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: Waiter | undefined;
  private failure: Error | undefined;
  /** Why the handshake was stopped from outside (timeout, abort), if it was. */
  stopped: Error | undefined;
  private released = false;
  // Bound methods, not arrow fields: no closure per handshake beyond these three.
  private readonly onData: (chunk: Buffer | string) => void;
  private readonly onClosed: () => void;
  private readonly onError: (err: Error) => void;

  constructor(
    private readonly stream: Duplex,
    private readonly maxMessageBytes: number,
  ) {
    this.onData = this.take.bind(this);
    this.onClosed = this.closed.bind(this);
    this.onError = this.errored.bind(this);
    stream.on('data', this.onData);
    stream.on('end', this.onClosed);
    stream.on('close', this.onClosed);
    stream.on('error', this.onError);
    if (stream.readableEnded || stream.destroyed) this.failure = new HandshakeError('closed');
  }

  /** Stops the handshake from outside with `err` (timeout, abort): see {@link check}. */
  stop(err: Error): void {
    this.stopped ??= err;
    this.fail(err);
  }

  /** Throws the error the handshake was stopped with, if it was. */
  check(): void {
    if (this.stopped !== undefined) throw this.stopped;
  }

  private closed(): void {
    this.fail(new HandshakeError('closed'));
  }

  private errored(err: Error): void {
    this.fail(new HandshakeError('closed', { cause: err }));
  }

  /** Fails the pending and every later read with `err`. */
  fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  /** Resolves with the next message's bytes (without its prefix). */
  read(): Promise<Uint8Array> {
    if (this.waiter !== undefined) return Promise.reject(new Error('one read at a time'));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (this.failure !== undefined) this.fail(this.failure);
      else if (!this.tryDeliver() && this.stream.isPaused()) this.stream.resume();
    });
  }

  private take(chunk: Buffer | string): void {
    if (this.released) return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(b);
    this.buffered += b.length;
    if (this.waiter !== undefined && this.failure === undefined) this.tryDeliver();
    // Nobody waits (or the message is not complete yet but already too large, which fails):
    // keep at most about one message buffered here, the rest waits in the stream.
    if (
      this.waiter === undefined &&
      this.buffered > this.maxMessageBytes + HANDSHAKE_HEADER_BYTES
    ) {
      this.stream.pause();
    }
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 2) return first.readUInt16BE(0);
    return ((first[0] as number) << 8) | ((this.chunks[1] as Buffer)[0] as number);
  }

  /** Delivers one complete message if buffered; true when it did. */
  private tryDeliver(): boolean {
    if (this.buffered < HANDSHAKE_HEADER_BYTES) return false;
    const length = this.peekLength();
    if (length > this.maxMessageBytes) {
      this.fail(new HandshakeError('message-too-large'));
      return false;
    }
    if (this.buffered < HANDSHAKE_HEADER_BYTES + length) return false;
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const end = HANDSHAKE_HEADER_BYTES + length;
    const message = all.subarray(HANDSHAKE_HEADER_BYTES, end);
    // The usual case, nothing past the message: no view of the rest, the same chunk list.
    this.chunks.length = 0;
    if (all.length > end) this.chunks.push(all.subarray(end));
    this.buffered = all.length - end;
    const w = this.waiter as Waiter;
    this.waiter = undefined;
    w.resolve(message);
    return true;
  }

  /** Detaches from the stream (left paused) and returns the bytes read past the last message. */
  release(): Uint8Array {
    this.released = true;
    this.stream.pause();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onClosed);
    this.stream.off('close', this.onClosed);
    this.stream.off('error', this.onError);
    const chunks = this.chunks;
    const rest =
      chunks.length === 0
        ? NOTHING
        : chunks.length === 1
          ? (chunks[0] as Buffer)
          : Buffer.concat(chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }
}

/** Frames a handshake message with its 2-byte length prefix. */
export function frameHandshakeMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_HEADER_BYTES + message.length);
  out.writeUInt16BE(message.length, 0);
  out.set(message, HANDSHAKE_HEADER_BYTES);
  return out;
}
