// Reads length-prefixed handshake messages from a Duplex in paused mode, only while a message is
// awaited (so a peer flooding bytes during the handshake meets the stream's own backpressure), and
// hands back whatever was read past the last message.
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../errors.js';

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
  private released = false;
  private readonly onReadable = (): void => this.pump();
  private readonly onEnd = (): void => this.fail(new HandshakeError('closed'));
  private readonly onClose = (): void => this.fail(new HandshakeError('closed'));
  private readonly onError = (err: Error): void =>
    this.fail(new HandshakeError('closed', { cause: err }));

  constructor(
    private readonly stream: Duplex,
    private readonly maxMessageBytes: number,
  ) {
    stream.on('readable', this.onReadable);
    stream.on('end', this.onEnd);
    stream.on('close', this.onClose);
    stream.on('error', this.onError);
    if (stream.readableEnded || stream.destroyed) this.failure = new HandshakeError('closed');
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
      else this.pump();
    });
  }

  private pump(): void {
    if (this.released) return;
    while (this.waiter !== undefined && this.failure === undefined) {
      if (this.tryDeliver()) continue;
      const chunk = this.stream.read() as Buffer | null;
      if (chunk === null) return;
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      this.chunks.push(b);
      this.buffered += b.length;
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
    const message = all.subarray(HANDSHAKE_HEADER_BYTES, HANDSHAKE_HEADER_BYTES + length);
    const rest = all.subarray(HANDSHAKE_HEADER_BYTES + length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    const w = this.waiter as Waiter;
    this.waiter = undefined;
    w.resolve(message);
    return true;
  }

  /** Detaches from the stream and returns the bytes read past the last message. */
  release(): Uint8Array {
    this.released = true;
    this.stream.off('readable', this.onReadable);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onClose);
    this.stream.off('error', this.onError);
    const rest = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
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
