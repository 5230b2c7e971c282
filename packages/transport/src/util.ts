// Small helpers shared by the multiplexer, the QUIC connection and the connection manager.
import { setMaxListeners } from 'node:events';
import { AbortError } from '@detr/interface';

/**
 * An AbortController whose signal takes any number of listeners without a MaxListeners warning:
 * for a shutdown signal that every concurrent handshake or close listens to (each removes its
 * listener when it ends).
 */
export function unlimitedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** True for a promise or promise-like (from any realm). */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * `promise`, or an AbortError as soon as `signal` aborts (the promise itself keeps running).
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(undefined, { cause: signal.reason }));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
