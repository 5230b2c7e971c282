// Score arithmetic: penalties and rewards move a score in [-100, 100]; it decays exponentially
// toward 0 (neutral) with a half-life; at -banThreshold the peer is banned, each ban twice as
// long as the one before, up to a maximum.
import type { PenaltyReason } from '@detr/interface';
import type { PenaltyTable } from './types.js';

/** Lowest score (the ban threshold is a distance below 0 within this range). */
export const SCORE_MIN = -100;
/** Highest score. */
export const SCORE_MAX = 100;

/** Points lost per penalty (× weight). */
export const DEFAULT_PENALTIES: PenaltyTable = {
  'invalid-message': 10,
  'handshake-failed': 5,
  timeout: 2,
  'rate-limit': 5,
  'bad-record': 20,
  'protocol-violation': 20,
};

/** Points for a penalty reason not in the table (a newer caller). */
export const UNKNOWN_PENALTY = 10;

export const clampScore = (s: number): number => Math.min(SCORE_MAX, Math.max(SCORE_MIN, s));

/** `score` measured at `atMs`, decayed to `nowMs`. */
export function decay(score: number, atMs: number, nowMs: number, halfLifeMs: number): number {
  if (score === 0 || nowMs <= atMs) return score;
  const s = score * 2 ** (-(nowMs - atMs) / halfLifeMs);
  return Math.abs(s) < 1e-3 ? 0 : s;
}

/** Length of the `count`-th ban (1-based). */
export function banDurationMs(count: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(count - 1, 0), 40));
}

/** A usable weight: NaN/negative/infinite are not thrown on (callers are message handlers). */
export function sanitizeWeight(weight: number | undefined): number {
  if (weight === undefined || Number.isNaN(weight)) return 1;
  return Math.min(100, Math.max(0, weight));
}

export function penaltyPoints(table: PenaltyTable, reason: PenaltyReason): number {
  const p = (table as Record<string, number | undefined>)[reason];
  return typeof p === 'number' && Number.isFinite(p) ? p : UNKNOWN_PENALTY;
}
