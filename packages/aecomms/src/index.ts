/**
 * @packageDocumentation
 * @detr/aecomms: identities, the Noise XX handshake, secure channels and network access tokens.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/aecomms', layer: 'core' } as const;
