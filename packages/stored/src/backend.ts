// The raw ordered byte store under the typed layer: tables of byte keys (memcmp order) to byte
// values, synchronous reads, atomic durable transactions. lmdb and memory implement it; the typed
// layer (store.ts) adds namespaces, record checksums, TTL, the cache and sealed-secret checks.

/** A scan over one table. `gte` inclusive, `lt` exclusive. */
export interface RangeQuery {
  gte?: Uint8Array | undefined;
  lt?: Uint8Array | undefined;
  reverse?: boolean;
  limit?: number;
}

/** Reads and writes inside one transaction; reads see the transaction's own writes. */
export interface BackendTxn {
  /** Stored bytes, valid only until the next call on the backend (may be a reused buffer). */
  get(table: string, key: Uint8Array): Uint8Array | undefined;
  put(table: string, key: Uint8Array, value: Uint8Array): void;
  del(table: string, key: Uint8Array): boolean;
  range(table: string, query: RangeQuery): Iterable<[Uint8Array, Uint8Array]>;
}

export interface Backend {
  readonly kind: 'lmdb' | 'memory';
  /**
   * The stored bytes, or `undefined`. Valid only until the next call on the backend (lmdb hands
   * out a reused buffer): copy what you keep.
   */
  get(table: string, key: Uint8Array): Uint8Array | undefined;
  /** Entries in key order; keys and values are copies. */
  range(table: string, query: RangeQuery): Iterable<[Uint8Array, Uint8Array]>;
  /**
   * Runs `fn` in one write transaction and resolves after it is committed and durable. `fn`
   * runs synchronously once the transaction starts; if it throws, nothing is written.
   */
  transact<T>(fn: (txn: BackendTxn) => T): Promise<T>;
  close(): Promise<void>;
}

/** Internal tables (namespaces are `ns:<name>`). */
export const META_TABLE = '__meta';
export const EXPIRY_TABLE = '__expiry';
export const nsTable = (name: string): string => `ns:${name}`;
