// Two in-process byte duplexes wired to each other, with backpressure: a write completes once the
// other side's readable buffer has room. Chunks are handed over by reference, on a later
// microtask (never inside the writer's call), as a socket would deliver them later.
import { Duplex } from 'node:stream';

class MemorySide extends Duplex {
  peer: MemorySide | undefined;
  /** The other side's write waiting for our reader. */
  private waiting: ((err?: Error | null) => void) | undefined;

  constructor(highWaterMark: number) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: highWaterMark,
      writableHighWaterMark: highWaterMark,
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer === undefined || peer.destroyed || peer.readableEnded) {
        cb();
        return;
      }
      if (peer.push(chunk)) cb();
      else peer.waiting = cb;
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer !== undefined && !peer.destroyed) peer.push(null);
      cb();
    });
  }

  override _read(): void {
    const cb = this.waiting;
    this.waiting = undefined;
    cb?.();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer !== undefined && !peer.destroyed) peer.destroy();
    });
    cb(err);
  }
}

/**
 * Two connected duplexes: what one writes, the other reads.
 *
 * @example
 * ```ts
 * const [a, b] = createDuplexPair()
 * b.on('data', (c) => console.log(c.toString()))
 * a.write('hello')
 * ```
 */
export function createDuplexPair(highWaterMark = 64 * 1024): [Duplex, Duplex] {
  const a = new MemorySide(highWaterMark);
  const b = new MemorySide(highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
