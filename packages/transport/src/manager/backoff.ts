// Exponential backoff with jitter for reconnecting keep-alive peers.
import type { Rng } from '@detr/interface';

/** Reconnection timing. */
export interface BackoffInit {
  /**
   * Delay before the first reconnection attempt.
   *
   * @default 500
   */
  initialDelayMs?: number;
  /**
   * Longest delay between attempts.
   *
   * @default 60000
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay after each failed attempt.
   *
   * @default 2
   */
  multiplier?: number;
  /**
   * Fraction of each delay that is random (0 = none, 1 = anywhere between 0 and the delay).
   *
   * @default 0.5
   */
  jitter?: number;
}

export type BackoffSettings = Required<BackoffInit>;

export const BACKOFF_DEFAULTS: Readonly<BackoffSettings> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 60_000,
  multiplier: 2,
  jitter: 0.5,
});

/**
 * Applies defaults and validates.
 *
 * @throws {RangeError} for values out of range
 */
export function resolveBackoff(init: BackoffInit = {}): BackoffSettings {
  const s = { ...BACKOFF_DEFAULTS };
  for (const [k, v] of Object.entries(init))
    if (v !== undefined) (s as Record<string, number>)[k] = v as number;
  if (!(
    s.initialDelayMs >= 0 &&
    s.maxDelayMs >= s.initialDelayMs &&
    Number.isFinite(s.maxDelayMs)
  )) {
    throw new RangeError(
      'backoff delays must satisfy 0 <= initialDelayMs <= maxDelayMs < Infinity',
    );
  }
  if (!(s.multiplier >= 1 && s.multiplier <= 100))
    throw new RangeError('multiplier must be in 1..100');
  if (!(s.jitter >= 0 && s.jitter <= 1)) throw new RangeError('jitter must be in 0..1');
  return s;
}

/** The delay before attempt number `attempt` (0 = the first reconnection). */
export function backoffDelay(s: BackoffSettings, attempt: number, rng: Rng): number {
  const base = Math.min(s.maxDelayMs, s.initialDelayMs * s.multiplier ** Math.min(attempt, 64));
  return Math.round(base * (1 - s.jitter) + base * s.jitter * rng.random());
}
