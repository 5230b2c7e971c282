/**
 * @packageDocumentation
 * @detr/fluent: flow control: priority queues, rate limits, backpressure, queue stats.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/fluent', layer: 'core' } as const;
