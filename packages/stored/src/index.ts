/**
 * @packageDocumentation
 * @detr/stored: the persistent store of a detr node. Typed namespaces over byte keys, TTL and
 * expiry on an injected clock, atomic batches, prefix scans, an LRU cache with hit/miss stats;
 * lmdb on disk (locked, checked on open, crash-safe) and an in-memory twin for tests. Secrets are
 * stored only as sealed envelopes.
 */
export type {
  Batch,
  CacheStats,
  Codec,
  Entry,
  KeyLike,
  Namespace,
  NamespaceName,
  PutOptions,
  ScanOptions,
  Store,
  StoreStats,
} from './types.js';
export { NAMESPACES, SECRET_NAMESPACES } from './types.js';
export type { StoreComponents, StoreInit } from './options.js';
export { STORE_DEFAULTS } from './options.js';
export { bytesCodec, stringCodec, jsonCodec } from './codecs.js';
export { MAX_KEY_BYTES, prefixEnd } from './keys.js';
export type { SealingSecret, SealOptions } from './sealed.js';
export { sealSecret, openSecret, isSealedEnvelope } from './sealed.js';
export { createMemoryStore, openMemoryStore } from './memory.js';
export type { LmdbStore, LmdbStoreInit } from './lmdb/store.js';
export { createLmdbStore, openLmdbStore } from './lmdb/store.js';
export type { SalvageReport } from './lmdb/salvage.js';
export { salvageStore } from './lmdb/salvage.js';
export type { CorruptionReason } from './errors.js';
export {
  StoreLockedError,
  StoreCorruptedError,
  StoreDecodeError,
  UnsealedSecretError,
  SecretOpenError,
  RECOVERY_STEPS,
} from './errors.js';
