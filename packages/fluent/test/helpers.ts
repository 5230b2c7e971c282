import type { PeerId } from '@detr/interface';
import type { OutboundMessage, Sink } from '../src/index.js';

/** A stand-in identity: only `toString()` and `equals()` matter to fluent. */
export function fakePeer(name: string): PeerId {
  const bytes = new TextEncoder().encode(name);
  return {
    type: 'Ed25519',
    publicKey: bytes,
    bytes,
    toString: () => name,
    equals: (other: PeerId) => other.toString() === name,
  };
}

/** Lets queued promise callbacks and p-queue's microtasks run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

/** A message whose payload's first byte is `tag` (to recognise it in the sink). */
export const msg = (
  channel: string,
  tag: number,
  priority?: OutboundMessage['priority'],
  size = 8,
): OutboundMessage => ({ channel, data: bytes(size, tag), ...(priority ? { priority } : {}) });

/** A sink that takes messages at once and records them, tagged with `name`. */
export function recordingSink(log: string[], name: string): Sink {
  return (m) => {
    log.push(`${name}:${m.channel}:${m.priority ?? 'normal'}:${m.data[0]}`);
  };
}

/** A slow sink: each call stays pending until `release()`. */
export function slowSink(): {
  sink: Sink;
  calls: OutboundMessage[];
  pending: () => number;
  release: (n?: number) => void;
  fail: (err: unknown) => void;
} {
  const calls: OutboundMessage[] = [];
  const waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  return {
    calls,
    sink: (m) =>
      new Promise<void>((resolve, reject) => {
        calls.push(m);
        waiting.push({ resolve, reject });
      }),
    pending: () => waiting.length,
    release(n = 1) {
      for (let i = 0; i < n; i++) waiting.shift()?.resolve();
    },
    fail(err) {
      waiting.shift()?.reject(err);
    },
  };
}

/** Settles a promise into a printable outcome without unhandled rejections. */
export function outcome(p: Promise<unknown>): { state: () => string } {
  let state = 'pending';
  p.then(
    () => (state = 'sent'),
    (err: Error) => (state = err.name),
  );
  return { state: () => state };
}

/** Marks `p` handled (a test that fails early must not crash on its rejection) and returns it. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
