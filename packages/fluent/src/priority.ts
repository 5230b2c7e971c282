/**
 * The five priority levels, most urgent first. The scheduler always sends the most urgent
 * queued message it is allowed to send (strict priority); within a level it takes turns
 * between peers, and within a peer between channels.
 *
 * @example
 * ```ts
 * await queue.send({ channel: 'consensus', data, priority: 'critical' })
 * ```
 */
export type Priority = 'critical' | 'high' | 'normal' | 'low' | 'bulk';

/**
 * Every priority, most urgent first; the index is the level (0 = critical).
 *
 * @example
 * ```ts
 * for (const p of PRIORITIES) console.log(p, stats.priorities[p].depth)
 * ```
 */
export const PRIORITIES: readonly Priority[] = Object.freeze([
  'critical',
  'high',
  'normal',
  'low',
  'bulk',
]);

/**
 * What `send()` does when its message does not fit in the queue:
 * - `wait`: the returned promise waits for room (backpressure); cancel it with an `AbortSignal`.
 * - `drop-oldest`: the oldest queued messages of the same priority are dropped (their promises
 *   reject with `MessageDroppedError`) to make room.
 * - `reject`: the promise rejects at once with `QueueFullError`.
 *
 * @example
 * ```ts
 * createScheduler({}, { policy: { high: 'reject' } })
 * ```
 */
export type FullPolicy = 'wait' | 'drop-oldest' | 'reject';

/**
 * Default {@link FullPolicy} per priority: `low` (e.g. presence refreshes, gossip ids) drops its
 * oldest, everything else waits.
 *
 * @example
 * ```ts
 * DEFAULT_POLICY.low // 'drop-oldest'
 * ```
 */
export const DEFAULT_POLICY: Readonly<Record<Priority, FullPolicy>> = Object.freeze({
  critical: 'wait',
  high: 'wait',
  normal: 'wait',
  low: 'drop-oldest',
  bulk: 'wait',
});

/**
 * Default share of a queue's capacity (messages and bytes) each priority may fill. A message is
 * admitted only while the queue, counting every priority, stays within its priority's share, so
 * lower priorities can never take the room the higher ones need.
 *
 * @example
 * ```ts
 * DEFAULT_ADMIT_SHARE.bulk * 10_000 // a bulk flood stops at 5,000 queued messages
 * ```
 */
export const DEFAULT_ADMIT_SHARE: Readonly<Record<Priority, number>> = Object.freeze({
  critical: 1,
  high: 0.95,
  normal: 0.9,
  low: 0.8,
  bulk: 0.5,
});

/** The level of `priority` (0 = critical … 4 = bulk), or -1 if it is not a priority. */
export function levelOf(priority: unknown): number {
  switch (priority) {
    case 'critical':
      return 0;
    case 'high':
      return 1;
    case 'normal':
      return 2;
    case 'low':
      return 3;
    case 'bulk':
      return 4;
    default:
      return -1;
  }
}
