/**
 * @packageDocumentation
 * @detr/fluent: flow control. An outbound scheduler (five priorities on p-queue, token-bucket
 * quotas per peer, per channel and overall, bounded queues with backpressure, fairness between
 * peers, stats and congestion events) and inbound limits that drop and report floods.
 */
export { createScheduler, SCHEDULER_DEFAULTS } from './scheduler.js';
export type {
  CongestionEvent,
  OutboundMessage,
  PeerQueue,
  PeerQueueStats,
  QueueStats,
  Scheduler,
  SchedulerComponents,
  SchedulerEvents,
  SchedulerInit,
  SchedulerStats,
  Sink,
} from './types.js';
export type { FullPolicy, Priority } from './priority.js';
export { PRIORITIES, DEFAULT_POLICY, DEFAULT_ADMIT_SHARE } from './priority.js';
export type { RateLimit } from './rate-limit.js';
export { QueueFullError, MessageDroppedError, SinkError } from './errors.js';

/**
 * Where this package sits in detr's layers (see docs/ARCHITECTURE.md).
 *
 * @example
 * ```ts
 * packageInfo.layer // 'core'
 * ```
 */
export const packageInfo = { name: '@detr/fluent', layer: 'core' } as const;
export { createInboundLimiter } from './inbound.js';
export type { InboundComponents, InboundInit, InboundLimiter, InboundStats } from './inbound.js';
export { streamSink } from './stream-sink.js';
