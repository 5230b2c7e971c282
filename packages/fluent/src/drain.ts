import { AbortError, type AbortOptions } from '@detr/interface';

/** Callers of `PeerQueue.drain()` waiting for the queue to empty. */
export class Drainers {
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  get size(): number {
    return this.waiting.length;
  }

  wait(options: AbortOptions): Promise<void> {
    const { signal } = options;
    if (signal?.aborted === true) {
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting = this.waiting.filter((d) => d !== drainer);
        reject(new AbortError(undefined, { cause: signal?.reason }));
      };
      const drainer = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiting.push(drainer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  settle(err?: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const d of waiting) {
      if (err === undefined) d.resolve();
      else d.reject(err);
    }
  }
}
