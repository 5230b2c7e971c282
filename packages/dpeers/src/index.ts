/**
 * @packageDocumentation
 * @detr/dpeers: the peer registry, reputation, bans, connection limits and authorized peer sets.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/dpeers', layer: 'peers' } as const;
