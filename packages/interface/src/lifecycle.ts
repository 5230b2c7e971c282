import { setMaxListeners } from 'node:events';

/**
 * Options accepted by every asynchronous public method.
 */
export interface AbortOptions {
  /** Cancels the operation; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * A stateful service. `start()` and `stop()` are idempotent; after `stop()` resolves the
 * service holds no socket, timer or handle that keeps the process alive.
 */
export interface Startable {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** True when `value` has `start` and `stop` methods. */
export function isStartable(value: unknown): value is Startable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Startable).start === 'function' &&
    typeof (value as Startable).stop === 'function'
  );
}

/**
 * Combines a caller's signal with an owner's shutdown signal and an optional timeout into one.
 *
 * @example
 * ```ts
 * const signal = combineSignals(options.signal, this.shutdown.signal, AbortSignal.timeout(30_000))
 * ```
 */
export function combineSignals(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 1) return present[0] as AbortSignal;
  const combined = AbortSignal.any(present);
  // Node 20's AbortSignal.any holds its sources weakly, and an AbortSignal.timeout that nothing
  // else holds is then collected before it fires: the combined signal never aborts (measured on
  // Node 20.20: 1 of 20 fired after a few GCs; nodejs/node#57736). Whoever holds the combined
  // signal holds its sources too.
  sourcesOf.set(combined, present);
  return combined;
}

/** The sources of each combined signal, alive as long as it is (see {@link combineSignals}). */
const sourcesOf = new WeakMap<AbortSignal, readonly AbortSignal[]>();

/**
 * An AbortController for an owner's shutdown: its signal takes any number of listeners without a
 * MaxListenersExceededWarning, since every concurrent operation of the owner listens to it (each
 * removes its listener when it ends).
 *
 * @example
 * ```ts
 * this.shutdown = shutdownController()
 * await lookup({ signal: combineSignals(options.signal, this.shutdown.signal) })
 * ```
 */
export function shutdownController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
