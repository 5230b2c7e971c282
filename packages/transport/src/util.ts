// Small helpers shared by the multiplexer, the QUIC connection and the connection manager.
import { AbortError } from '@detr/interface';

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
