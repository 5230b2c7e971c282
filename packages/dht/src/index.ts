/**
 * @packageDocumentation
 * @detr/dht: a network-scoped Kademlia DHT with signed records and presence.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/dht', layer: 'net' } as const;
