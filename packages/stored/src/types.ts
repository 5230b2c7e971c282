import type { AbortOptions, Startable } from '@detr/interface';

/**
 * The namespaces every store has. Each is its own key space: the same key in two namespaces
 * names two records.
 * - `peers`: dpeers' registry entries and bans
 * - `dht-records`: DHT records held for the network (bytes as received)
 * - `tokens`, `revocations`, `networks`: network access material (public, signed)
 * - `keys`: secrets; accepts only sealed envelopes (see {@link sealSecret})
 * - `outbox`: messages waiting for delivery
 */
export const NAMESPACES = [
  'peers',
  'dht-records',
  'tokens',
  'revocations',
  'networks',
  'keys',
  'outbox',
] as const;

/** One of {@link NAMESPACES}, or an extra namespace declared in the store's init. */
export type NamespaceName = (typeof NAMESPACES)[number] | (string & {});

/** Namespaces whose values must be sealed envelopes; `keys` always is one. */
export const SECRET_NAMESPACES: readonly string[] = ['keys'];

/** A key: bytes, or a string (stored as its UTF-8 bytes). Non-empty, at most 1,024 bytes. */
export type KeyLike = Uint8Array | string;

/**
 * Converts values to bytes and back. The store holds bytes; a namespace handle is typed by the
 * codec it was opened with. `decode` must throw on bytes it does not understand.
 */
export interface Codec<V> {
  /** A short name, for error messages. */
  readonly name: string;
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

/** Options of a write. At most one of `ttlMs` and `expiresAtMs`. */
export interface PutOptions {
  /** The record expires this many milliseconds from now (the store's clock). */
  ttlMs?: number;
  /** The record expires at this time (milliseconds since the epoch, the store's clock). */
  expiresAtMs?: number;
}

/** A record as read back. */
export interface Entry<V> {
  readonly key: Uint8Array;
  readonly value: V;
  /** When it expires, or `undefined` for never. */
  readonly expiresAtMs: number | undefined;
}

/** Which keys a scan visits, in ascending byte order unless `reverse`. */
export interface ScanOptions {
  /** Only keys starting with these bytes. Combined with `gte`/`lt` as an intersection. */
  prefix?: KeyLike;
  /** Inclusive lower bound. */
  gte?: KeyLike;
  /** Exclusive upper bound. */
  lt?: KeyLike;
  /** Descending order. */
  reverse?: boolean;
  /** At most this many entries. */
  limit?: number;
}

/**
 * A typed view of one namespace. Reads are synchronous (the store is memory-mapped or in
 * memory); writes resolve once durable. Expired records are invisible to every read.
 */
export interface Namespace<V> {
  readonly name: string;
  /** The value under `key`, or `undefined`. @throws {StoreCorruptedError} on a damaged record */
  get(key: KeyLike): V | undefined;
  /** The record under `key` with its expiry, or `undefined`. */
  getEntry(key: KeyLike): Entry<V> | undefined;
  has(key: KeyLike): boolean;
  /** Writes (replaces) one record. Resolves once the write is durable. */
  put(key: KeyLike, value: V, options?: PutOptions & AbortOptions): Promise<void>;
  /** Removes one record; resolves true if a live record was removed. */
  delete(key: KeyLike, options?: AbortOptions): Promise<boolean>;
  /** Live records in key order; lazy, so stop early to read less. */
  scan(options?: ScanOptions): IterableIterator<Entry<V>>;
  /** Number of live records (scans the namespace). */
  count(options?: Pick<ScanOptions, 'prefix' | 'gte' | 'lt'>): number;
  /** Removes every record of the namespace, atomically. */
  clear(options?: AbortOptions): Promise<void>;
}

/**
 * An atomic group of writes over any namespaces of one store: after a crash either all of it
 * is present or none of it.
 */
export interface Batch {
  /** Number of operations queued. */
  readonly size: number;
  put<V>(ns: Namespace<V>, key: KeyLike, value: V, options?: PutOptions): this;
  delete(ns: Namespace<unknown>, key: KeyLike): this;
  /** Commits; resolves once durable. A batch commits at most once. */
  commit(options?: AbortOptions): Promise<void>;
}

/** Cache counters. */
export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
  /** hits / (hits + misses), or 0 before any read. */
  hitRate: number;
}

/** Store counters. */
export interface StoreStats {
  backend: 'lmdb' | 'memory';
  cache: CacheStats;
  /** Per namespace: reads that hit / missed the cache. */
  namespaces: Record<string, { hits: number; misses: number }>;
  /** Records written, deleted, and expired records removed by sweeps, since start. */
  writes: number;
  deletes: number;
  expired: number;
  batches: number;
}

/**
 * A typed key-value store with namespaces, TTL, atomic batches, prefix scans and an LRU cache.
 * `start()` opens it (for lmdb: takes the directory lock and checks the files), `stop()`
 * flushes and closes it; both are idempotent and a stopped store can be started again.
 */
export interface Store extends Startable {
  readonly backend: 'lmdb' | 'memory';
  /**
   * A typed handle on a namespace. Handles are cheap and stay valid across stop/start.
   *
   * @throws {RangeError} for an unknown namespace
   */
  namespace<V = Uint8Array>(name: NamespaceName, codec?: Codec<V>): Namespace<V>;
  /** A new, empty atomic batch. */
  batch(): Batch;
  /**
   * Removes up to `limit` expired records now (the store also sweeps on its own every
   * `sweepIntervalMs`). Resolves to the number removed.
   */
  sweepExpired(options?: { limit?: number } & AbortOptions): Promise<number>;
  stats(): StoreStats;
  /** Empties the cache (not the store); counters stay. */
  clearCache(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}
