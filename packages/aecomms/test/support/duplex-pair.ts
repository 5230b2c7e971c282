// An in-memory connected pair of Duplex streams with asynchronous delivery, backpressure (a
// write's callback waits while the peer's readable buffer is full) and close propagation
// (destroying one end closes the other, like a reset connection).
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  private pendingCallback: (() => void) | undefined;

  constructor(highWaterMark: number) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: highWaterMark,
      writableHighWaterMark: highWaterMark,
    });
  }

  override _write(
    chunk: Buffer,
    _enc: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    setImmediate(() => {
      if (this.peer.destroyed || this.peer.readableEnded) {
        callback(new Error('peer closed'));
        return;
      }
      if (this.peer.push(chunk)) callback();
      else this.peer.pendingCallback = () => callback();
    });
  }

  override _read(): void {
    const cb = this.pendingCallback;
    this.pendingCallback = undefined;
    cb?.();
  }

  override _final(callback: (err?: Error | null) => void): void {
    setImmediate(() => {
      if (!this.peer.destroyed) this.peer.push(null);
      callback();
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) peer.destroy();
    });
    callback(err);
  }
}

/** Two connected in-memory Duplex ends. */
export function createDuplexPair(highWaterMark = 64 * 1024): [Duplex, Duplex] {
  const a = new End(highWaterMark);
  const b = new End(highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Resolves once `stream` emitted 'close'. */
export function closed(stream: Duplex): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
