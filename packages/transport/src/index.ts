/**
 * @packageDocumentation
 * @detr/transport: encrypted, multiplexed connections over TCP, QUIC and in-memory.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/transport', layer: 'peers' } as const;
