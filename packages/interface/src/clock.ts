import { AbortError } from './errors.js';

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as a component: every timeout, expiry and refresh in detr goes through an injected clock so
 * tests and simulations control time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Runs `fn` once after `delayMs`. The system clock's timers never keep the process alive on
   * their own (they are `unref`ed).
   */
  setTimeout(fn: () => void, delayMs: number): Timer;
}

/**
 * The real clock: `Date.now()` and unref'ed Node timers.
 *
 * @example
 * ```ts
 * const clock = components.clock ?? systemClock
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, delayMs) {
    const handle = setTimeout(fn, delayMs);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * Resolves after `delayMs` on `clock`.
 *
 * @throws {AbortError} when `signal` aborts first (the signal's reason is its `cause`)
 *
 * @example
 * ```ts
 * await sleep(clock, backoffMs, { signal })
 * ```
 */
export function sleep(
  clock: Clock,
  delayMs: number,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A clock that moves only when told to; for deterministic tests and simulations. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void;
  /**
   * Like {@link ManualClock.advance}, but lets pending promise callbacks run after each timer, so
   * that async work a timer starts can schedule further timers before time moves on.
   */
  advanceAsync(ms: number): Promise<void>;
  /** Number of timers still scheduled. */
  pending(): number;
}

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Creates a {@link ManualClock} starting at `startMs`.
 *
 * @example
 * ```ts
 * const clock = createManualClock()
 * const timer = clock.setTimeout(onExpire, 1000)
 * clock.advance(1000) // onExpire ran
 * ```
 */
export function createManualClock(startMs = 1_700_000_000_000): ManualClock {
  let now = startMs;
  let seq = 0;
  const heap: Entry[] = [];
  const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (e: Entry): void => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[p] as Entry)) break;
      [heap[i], heap[p]] = [heap[p] as Entry, heap[i] as Entry];
      i = p;
    }
  };
  const pop = (): Entry | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as Entry, heap[m] as Entry)) m = l;
        if (r < heap.length && before(heap[r] as Entry, heap[m] as Entry)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Entry, heap[i] as Entry];
        i = m;
      }
    }
    return top;
  };
  const nextDue = (until: number): Entry | undefined => {
    while (heap.length > 0) {
      const top = heap[0] as Entry;
      if (top.cancelled) {
        pop();
        continue;
      }
      return top.at <= until ? pop() : undefined;
    }
    return undefined;
  };
  return {
    now: () => now,
    setTimeout(fn, delayMs) {
      const entry: Entry = { at: now + Math.max(0, delayMs), seq: seq++, fn, cancelled: false };
      push(entry);
      return {
        cancel: () => {
          entry.cancelled = true;
        },
      };
    },
    advance(ms) {
      const until = now + ms;
      for (let e = nextDue(until); e !== undefined; e = nextDue(until)) {
        now = e.at;
        e.fn();
      }
      now = until;
    },
    async advanceAsync(ms) {
      const until = now + ms;
      const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      await flush();
      for (let e = nextDue(until); e !== undefined; e = nextDue(until)) {
        now = e.at;
        e.fn();
        await flush();
      }
      now = until;
    },
    pending: () => heap.filter((e) => !e.cancelled).length,
  };
}
