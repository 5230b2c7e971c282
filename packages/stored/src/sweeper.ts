// The periodic expiry sweep of a started store: every `intervalMs`, up to `maxRounds` sweep
// transactions of `batchSize` records (fewer when a round finds less), then the next tick.
import type { Clock, Logger, Timer } from '@detr/interface';

export interface SweeperOptions {
  clock: Clock;
  log: Logger;
  /** 0 disables the periodic sweep. */
  intervalMs: number;
  batchSize: number;
  maxRounds: number;
  /** True while the store is started and not stopping. */
  active(): boolean;
  /** One sweep transaction; resolves to the records removed. */
  sweep(): Promise<number>;
}

export interface Sweeper {
  /** Arms the next tick (no-op when disabled or inactive). */
  schedule(): void;
  /** Cancels the next tick and waits for a running one. */
  stop(): Promise<void>;
}

export function createSweeper(o: SweeperOptions): Sweeper {
  let timer: Timer | undefined;
  let running: Promise<unknown> | undefined;
  const schedule = (): void => {
    if (o.intervalMs === 0 || !o.active()) return;
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      running = (async () => {
        for (let round = 0; round < o.maxRounds; round++) {
          if (!o.active()) return;
          if ((await o.sweep()) < o.batchSize) return;
        }
      })()
        .catch((err: unknown) => o.log.error({ err }, 'expiry sweep failed'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, o.intervalMs);
  };
  return {
    schedule,
    async stop() {
      timer?.cancel();
      timer = undefined;
      await running;
    },
  };
}
