// TEST ONLY: a plaintext MessagePipe pair, message by message, with no encryption and no
// handshake. It lets the multiplexer be tested on its own; the shipped transports never use it.
import type { PenaltyReason } from '@detr/interface';
import type { MessagePipe, PipeHandlers } from '../../src/pipe.js';

export interface PlainPipe extends MessagePipe {
  /** Messages written so far (each a concatenation of its pieces). */
  readonly written: Uint8Array[];
  /** Delivers raw bytes to the other side as one message (for hostile-input tests). */
  inject(bytes: Uint8Array): void;
  /** Fails this side as a broken channel would. */
  breakWith(err: Error, penalty?: PenaltyReason): void;
  readonly ended: boolean;
  readonly destroyedFlag: boolean;
}

export function createPlainPipePair(
  options: { maxMessageBytes?: number; highWaterMark?: number; record?: boolean } = {},
): [PlainPipe, PlainPipe] {
  const max = options.maxMessageBytes ?? 65_519;
  const hwm = options.highWaterMark ?? 1024 * 1024;
  interface Side extends PlainPipe {
    peer: Side | undefined;
    receive(m: Uint8Array): void;
    remoteEnded(): void;
  }
  const make = (): Side => {
    let handlers: PipeHandlers | undefined;
    const queue: Uint8Array[] = [];
    let endQueued = false;
    let inFlight = 0;
    let blocked = false;
    let ended = false;
    let destroyed = false;
    const written: Uint8Array[] = [];
    const self: Side = {
      maxMessageBytes: max,
      written,
      get ended() {
        return ended;
      },
      get destroyedFlag() {
        return destroyed;
      },
      start(h: PipeHandlers) {
        handlers = h;
        for (const m of queue.splice(0)) h.onMessage(m);
        if (endQueued) h.onEnd();
      },
      write(messages: readonly (readonly Uint8Array[])[]) {
        if (destroyed || ended) return true;
        for (const pieces of messages) {
          const total = pieces.reduce((n, p) => n + p.length, 0);
          if (total > max) throw new RangeError(`message of ${total} bytes above ${max}`);
          const m = new Uint8Array(total);
          let o = 0;
          for (const p of pieces) {
            m.set(p, o);
            o += p.length;
          }
          if (options.record === true) written.push(m);
          inFlight += total;
          const peer = self.peer;
          setImmediate(() => {
            if (destroyed) return;
            peer?.receive(m);
            inFlight -= total;
            if (blocked && inFlight < hwm) {
              blocked = false;
              handlers?.onDrain();
            }
          });
        }
        if (inFlight >= hwm) blocked = true;
        return !blocked;
      },
      end() {
        if (ended || destroyed) return;
        ended = true;
        const peer = self.peer;
        setImmediate(() => peer?.remoteEnded());
      },
      destroy() {
        if (destroyed) return;
        destroyed = true;
        const peer = self.peer;
        setImmediate(() => peer?.remoteEnded());
      },
      inject(bytes: Uint8Array) {
        const peer = self.peer;
        setImmediate(() => peer?.receive(bytes));
      },
      breakWith(err: Error, penalty?: PenaltyReason) {
        handlers?.onError(err, penalty);
      },
      receive(m: Uint8Array) {
        if (destroyed) return;
        if (handlers === undefined) queue.push(m);
        else handlers.onMessage(m);
      },
      remoteEnded() {
        if (destroyed) return;
        if (handlers === undefined) endQueued = true;
        else handlers.onEnd();
      },
      peer: undefined,
    };
    return self;
  };
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
