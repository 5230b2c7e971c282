/**
 * @packageDocumentation
 * @detr/protocol: the wire format: protobuf messages, framing, version negotiation, size limits.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/protocol', layer: 'protocol' } as const;
