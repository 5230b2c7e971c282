import { percentile, usSince } from './stats.js';

/** Any byte-stream end point the shared measurement loops can drive. */
export interface ByteSink {
  write(chunk: Uint8Array): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes `total` bytes in `chunkSize` writes, honouring backpressure, and resolves when the
 * receiver reports them all. Returns MB/s (10^6 bytes) measured from the first write to the last
 * byte received.
 */
export async function bulkThroughput(
  sink: ByteSink,
  received: () => Promise<void>,
  total: number,
  chunkSize = 64 * 1024,
): Promise<number> {
  const chunk = new Uint8Array(chunkSize).fill(7);
  const start = process.hrtime.bigint();
  const done = received();
  for (let sent = 0; sent < total; sent += chunkSize) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', resolve));
  }
  await done;
  return total / usSince(start);
}

/**
 * Runs `iterations` sequential round trips of `once()` after `warmup` unmeasured ones and returns
 * p50 and p99 in microseconds.
 */
export async function roundTrips(
  once: () => Promise<void>,
  iterations: number,
  warmup = Math.min(1000, iterations),
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await once();
    samples[i] = usSince(start);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/**
 * Runs every implementation `rounds` times, one round after another, and returns each one's
 * results. Round r starts at the r-th implementation (the order rotates), so none always runs
 * right after the same neighbour: a heavy implementation's leftover work (GC, closing sockets)
 * then weighs on each of the others in turn, not always on the one that follows it.
 */
export async function rotatedRounds<K extends string, T>(
  rounds: number,
  impls: Record<K, () => Promise<T>>,
): Promise<Record<K, T[]>> {
  const keys = Object.keys(impls) as K[];
  const runs = Object.fromEntries(keys.map((k) => [k, [] as T[]])) as unknown as Record<K, T[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + round) % keys.length] as K;
      runs[k].push(await impls[k]());
    }
  }
  return runs;
}
