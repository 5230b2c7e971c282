// Joins two streams back to back (a mutual peer forwarding signaling, a relay carrying a circuit)
// with limits: bytes per direction and total time. Past a limit both streams are reset.
import type { Duplex } from 'node:stream';

/** Limits of one splice; 0 means unlimited. */
export interface SpliceLimits {
  /** Bytes each direction may carry. */
  readonly maxBytesPerDirection: number;
  /** Total lifetime. */
  readonly maxDurationMs: number;
}

/** The outcome of a splice. */
export interface SpliceResult {
  /** `ended`: both sides finished; `limit`: a limit cut it; `error`: a side failed. */
  readonly reason: 'ended' | 'limit' | 'error';
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
}

/** Anything that can be reset abruptly (a detr Stream), or destroyed (a plain duplex). */
type Resettable = Duplex & { reset?: (err?: Error) => void };

function kill(s: Resettable, err: Error): void {
  if (s.destroyed) return;
  if (typeof s.reset === 'function') s.reset(err);
  else s.destroy(err);
}

/**
 * Pipes `a` ↔ `b` with backpressure and limits; resolves when both directions are done or one
 * was cut.
 *
 * @example
 * ```ts
 * const r = await splice(fromSource, toTarget, { maxBytesPerDirection: 1 << 20, maxDurationMs: 120_000 })
 * if (r.reason === 'limit') log.info('circuit cut at its limit')
 * ```
 */
export function splice(
  a: Resettable,
  b: Resettable,
  limits: SpliceLimits,
  onLimit?: (err: Error) => Error,
): Promise<SpliceResult> {
  return new Promise<SpliceResult>((resolve) => {
    const count = { ab: 0, ba: 0 };
    let doneDirs = 0;
    let finished = false;
    const finish = (reason: SpliceResult['reason']): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      a.off('data', onA);
      b.off('data', onB);
      resolve({ reason, bytesAtoB: count.ab, bytesBtoA: count.ba });
    };
    const cut = (why: string): void => {
      const base = new Error(why);
      const err = onLimit ? onLimit(base) : base;
      kill(a, err);
      kill(b, err);
      finish('limit');
    };
    const fail = (err: Error): void => {
      if (finished) return;
      kill(a, err);
      kill(b, err);
      finish('error');
    };
    const pump = (src: Resettable, dst: Resettable, key: 'ab' | 'ba') => (chunk: Buffer) => {
      count[key] += chunk.length;
      if (limits.maxBytesPerDirection > 0 && count[key] > limits.maxBytesPerDirection) {
        cut('relay data limit reached');
        return;
      }
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    };
    const onA = pump(a, b, 'ab');
    const onB = pump(b, a, 'ba');
    const ended = (dst: Resettable) => () => {
      if (!dst.destroyed && !dst.writableEnded) dst.end();
      if (++doneDirs === 2) finish('ended');
    };
    a.on('data', onA);
    b.on('data', onB);
    a.once('end', ended(b));
    b.once('end', ended(a));
    a.on('error', fail);
    b.on('error', fail);
    a.once('close', () => {
      if (!a.readableEnded) fail(new Error('stream closed'));
    });
    b.once('close', () => {
      if (!b.readableEnded) fail(new Error('stream closed'));
    });
    const timer =
      limits.maxDurationMs > 0
        ? setTimeout(() => cut('relay duration limit reached'), limits.maxDurationMs)
        : undefined;
    timer?.unref();
  });
}
