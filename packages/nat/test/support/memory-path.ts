// Two SignalPaths connected in memory (what a detr stream or the DHT carries, without either).
import { AbortError } from '@detr/interface';
import type { SignalPath } from '../../src/signaling/path.js';
import type { SignalBody } from '../../src/signaling/signal.js';

export function memoryPathPair(trickle = true): [SignalPath, SignalPath] {
  const sessionId = new Uint8Array(16).fill(9);
  const queues: [SignalBody[], SignalBody[]] = [[], []];
  const wakers: [(() => void) | undefined, (() => void) | undefined] = [undefined, undefined];
  const closed = [false, false];
  const make = (me: 0 | 1): SignalPath => {
    const other = (1 - me) as 0 | 1;
    return {
      route: 'direct',
      trickle,
      sessionId,
      send(body) {
        if (closed[me]) return Promise.reject(new Error('closed'));
        if (!trickle && (body.kind === 'candidate' || body.kind === 'end-of-candidates'))
          return Promise.resolve();
        queues[other].push(body);
        wakers[other]?.();
        return Promise.resolve();
      },
      async next(options = {}) {
        for (;;) {
          const b = queues[me].shift();
          if (b !== undefined) return b;
          if (closed[me]) throw new AbortError('closed');
          await new Promise<void>((resolve, reject) => {
            const s = options.signal;
            if (s?.aborted) return reject(new AbortError());
            s?.addEventListener('abort', () => reject(new AbortError()), { once: true });
            wakers[me] = resolve;
          });
        }
      },
      close() {
        closed[me] = true;
        wakers[me]?.();
      },
    };
  };
  return [make(0), make(1)];
}
