/**
 * @packageDocumentation
 * @detr/nat: WebRTC data channels with ICE/STUN/TURN, relays and hole punching.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/nat', layer: 'net' } as const;
