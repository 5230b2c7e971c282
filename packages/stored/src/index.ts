/**
 * @packageDocumentation
 * @detr/stored: the crash-safe persistent store (lmdb) and its in-memory twin.
 */

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/stored', layer: 'core' } as const;
