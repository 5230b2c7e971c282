// The contract between the store's typed layer (core.ts) and its namespace handles, batches
// and backends.
import type { AbortOptions, Clock } from '@detr/interface';
import type { Backend } from './backend.js';
import type { CachedRecord } from './cache.js';
import type { RawRecord } from './record.js';
import type { Op } from './txn.js';
import type { Codec, KeyLike, PutOptions, ScanOptions } from './types.js';

/** What the namespace handles and batches need from the core. */
export interface Core {
  readonly clock: Clock;
  readonly maxValueBytes: number;
  checkNamespace(name: string): void;
  isSecret(name: string): boolean;
  /**
   * The live record under `key`. Its `value` may be a view into a transient backend buffer:
   * decode (copy) it before the next store call.
   */
  read(ns: string, key: Uint8Array): CachedRecord | undefined;
  scan(ns: string, options: ScanOptions): Generator<[Uint8Array, RawRecord]>;
  commit(ops: Op[], options?: AbortOptions): Promise<boolean[]>;
  clear(ns: string, options?: AbortOptions): Promise<void>;
  /** Encodes and validates a put (throws synchronously on bad input). */
  preparePut<V>(ns: string, codec: Codec<V>, key: KeyLike, value: V, options?: PutOptions): Op;
  decode<V>(ns: string, codec: Codec<V>, bytes: Uint8Array): V;
  /** True if `handle` was created by this store. */
  owns(handle: unknown): boolean;
  registerHandle(handle: object): void;
}

export interface CoreOptions {
  kind: 'lmdb' | 'memory';
  /** Opens the backend (for lmdb: lock, checks, open). */
  open(): Promise<Backend>;
  /** Called after the backend closed (for lmdb: release the lock). */
  afterClose?(): Promise<void> | void;
  /** Path for error messages. */
  path: string;
}
