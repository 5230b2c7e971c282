// A virtual clock for simulations: timers are bucketed by whole milliseconds, and between two
// instants the loop yields to the event loop so that every promise callback the fired timers
// started has run before time moves on. Deterministic: same inputs, same order.
import type { Clock, Timer } from '@detr/interface';

/** A virtual clock driven by {@link SimClock.run}. */
export interface SimClock extends Clock {
  /** Runs every timer due in the next `ms` milliseconds, then sets the time to now + `ms`. */
  run(ms: number): Promise<void>;
  /**
   * Runs timers until `promise` settles, at most `maxMs` virtual milliseconds; resolves or
   * rejects like `promise`.
   *
   * @throws {Error} when `promise` is still pending after `maxMs`
   */
  runUntil<T>(promise: Promise<T>, maxMs?: number): Promise<T>;
  /** Number of live timers. */
  pending(): number;
}

interface Entry {
  fn: () => void;
  cancelled: boolean;
}

const noop = (): void => {};
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Creates a {@link SimClock} starting at `startMs`.
 *
 * @example
 * ```ts
 * const clock = createSimClock()
 * const result = await clock.runUntil(dht.get(key))
 * ```
 */
export function createSimClock(startMs = 1_700_000_000_000): SimClock {
  let now = startMs;
  let live = 0;
  const buckets = new Map<number, Entry[]>();
  const heap: number[] = [];

  const push = (t: number): void => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((heap[p] as number) <= t) break;
      heap[i] = heap[p] as number;
      i = p;
    }
    heap[i] = t;
  };
  const pop = (): number | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < heap.length && (heap[l] as number) < mv) {
          m = l;
          mv = heap[l] as number;
        }
        if (r < heap.length && (heap[r] as number) < mv) m = r;
        if (m === i) break;
        heap[i] = heap[m] as number;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  };

  const step = async (until: number): Promise<boolean> => {
    const t = heap[0];
    if (t === undefined || t > until) return false;
    pop();
    const list = buckets.get(t);
    buckets.delete(t);
    now = Math.max(now, t);
    if (list !== undefined) {
      for (const e of list) {
        if (e.cancelled) continue;
        e.cancelled = true;
        live--;
        e.fn();
      }
    }
    await flush();
    return true;
  };

  const clock: SimClock = {
    now: () => now,
    setTimeout(fn, delayMs) {
      const at = now + Math.max(0, Math.ceil(delayMs));
      const e: Entry = { fn, cancelled: false };
      let list = buckets.get(at);
      if (list === undefined) {
        list = [];
        buckets.set(at, list);
        push(at);
      }
      list.push(e);
      live++;
      const timer: Timer = {
        cancel: () => {
          if (!e.cancelled) {
            e.cancelled = true;
            e.fn = noop; // release what the callback holds until its slot comes
            live--;
          }
        },
      };
      return timer;
    },
    async run(ms) {
      const until = now + ms;
      await flush();
      while (await step(until));
      now = Math.max(now, until);
    },
    async runUntil(promise, maxMs = 24 * 3600 * 1000) {
      let settled = false;
      const p = promise.finally(() => {
        settled = true;
      });
      p.catch(() => undefined);
      const until = now + maxMs;
      await flush();
      while (!settled) {
        if (!(await step(until))) break;
      }
      if (!settled) throw new Error(`still pending after ${maxMs} virtual ms`);
      return p;
    },
    pending: () => live,
  };
  return clock;
}
