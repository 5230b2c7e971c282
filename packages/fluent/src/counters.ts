import type { Counters } from './entry.js';
import { Histogram } from './histogram.js';
import type { QueueStats } from './types.js';

export type Outcome = 'dropped' | 'rejected' | 'cancelled' | 'failed';

export function newCounters(): Counters {
  return {
    depth: 0,
    bytes: 0,
    sent: 0,
    sentBytes: 0,
    dropped: 0,
    rejected: 0,
    cancelled: 0,
    failed: 0,
    wait: new Histogram(),
  };
}

// The operations below take (counters, a, b) so that one function value updates every scope of
// a message (priority, channel, peer, total) without allocating a closure per message.

/** Adds (`sign` = 1) or removes (`sign` = -1) one queued message of `bytes`. */
export function queued(c: Counters, bytes: number, sign: number): void {
  c.depth += sign;
  c.bytes += sign * bytes;
}

/** One queued message of `bytes` handed to the sink after waiting `waitMs`. */
export function sent(c: Counters, bytes: number, waitMs: number): void {
  c.depth--;
  c.bytes -= bytes;
  c.sent++;
  c.sentBytes += bytes;
  c.wait.record(waitMs);
}

/** One queued message of `bytes` that left without being sent (dropped, cancelled). */
export function left(c: Counters, bytes: number, outcome: Outcome): void {
  c.depth--;
  c.bytes -= bytes;
  c[outcome]++;
}

/** One message that ended as `outcome` outside the queue (rejected, failed, a waiter cancelled). */
export function ended(c: Counters, _bytes: number, outcome: Outcome): void {
  c[outcome]++;
}

export function toStats(c: Counters): QueueStats {
  return {
    depth: c.depth,
    bytes: c.bytes,
    sent: c.sent,
    sentBytes: c.sentBytes,
    dropped: c.dropped,
    rejected: c.rejected,
    cancelled: c.cancelled,
    failed: c.failed,
    waitP50Ms: c.wait.percentile(50),
    waitP99Ms: c.wait.percentile(99),
  };
}
