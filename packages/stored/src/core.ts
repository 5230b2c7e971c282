// The typed layer shared by every backend: namespaces, record checksums, TTL and the expiry
// index, atomic batches, the LRU cache, the sweeper, the secret-namespace rule and lifecycle.
import {
  NotStartedError,
  noopLogger,
  systemClock,
  throwIfAborted,
  type AbortOptions,
  type Clock,
  type Logger,
  type Timer,
} from '@detr/interface';
import { EXPIRY_TABLE, nsTable, type Backend, type BackendTxn } from './backend.js';
import { LruCache, type CachedRecord } from './cache.js';
import { StoreCorruptedError, StoreDecodeError, UnsealedSecretError } from './errors.js';
import { inBounds, keyBytes, scanBounds, compareBytes, type Bounds } from './keys.js';
import {
  decodeRecord,
  encodeRecord,
  expiryIndexKey,
  expiryIndexUntil,
  HEADER_BYTES,
  MAX_EXPIRY_MS,
  parseExpiryIndexKey,
  recordExpiry,
  type RawRecord,
} from './record.js';
import { parseEnvelope } from './sealed.js';
import {
  NAMESPACES,
  SECRET_NAMESPACES,
  type Codec,
  type Entry,
  type KeyLike,
  type PutOptions,
  type ScanOptions,
  type Store,
  type StoreStats,
} from './types.js';
import { createBatch, createNamespace } from './namespace.js';

/** Options shared by every store. */
export interface StoreInit {
  /** Largest number of records the cache holds; 0 disables it. @default 10000 */
  cacheMaxEntries?: number;
  /** Largest number of bytes (keys + values + 64 per entry) the cache holds. @default 16777216 */
  cacheMaxBytes?: number;
  /** Period of the automatic expiry sweep; 0 disables it. @default 60000 */
  sweepIntervalMs?: number;
  /** Records removed per sweep transaction. @default 1000 */
  sweepBatchSize?: number;
  /** Largest encoded value, in bytes. @default 4194304 */
  maxValueBytes?: number;
  /** Namespaces besides {@link NAMESPACES} (lower-case letters, digits, `-`; ≤ 31 chars). */
  namespaces?: readonly string[];
  /** Extra namespaces that, like `keys`, accept only sealed envelopes. */
  secretNamespaces?: readonly string[];
}

/** Injected dependencies of a store. */
export interface StoreComponents {
  /** Time for TTLs and the sweeper. @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
}

/**
 * The defaults of {@link StoreInit}; see the README's table.
 *
 * @example
 * ```ts
 * createMemoryStore({}, { cacheMaxEntries: STORE_DEFAULTS.cacheMaxEntries * 2 })
 * ```
 */
export const STORE_DEFAULTS = {
  cacheMaxEntries: 10_000,
  cacheMaxBytes: 16 * 1024 * 1024,
  sweepIntervalMs: 60_000,
  sweepBatchSize: 1000,
  maxValueBytes: 4 * 1024 * 1024,
} as const;

const NAME = /^[a-z][a-z0-9-]{0,30}$/;
const MAX_SWEEP_ROUNDS_PER_TICK = 10;

/** One write of a batch, already encoded and validated. */
export interface Op {
  kind: 'put' | 'del';
  ns: string;
  key: Uint8Array;
  /** Stored bytes (record header + value) for a put. */
  stored?: Uint8Array;
  expiresAtMs?: number | undefined;
}

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

function nonNegInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
  return x;
}

const latin1 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Builds a {@link Store} over a backend opener. */
export function createStoreCore(
  components: StoreComponents,
  init: StoreInit,
  options: CoreOptions,
): Store & { readonly core: Core; currentBackend(): Backend | undefined } {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'stored' });
  const cacheMaxEntries = nonNegInt(
    'cacheMaxEntries',
    init.cacheMaxEntries,
    STORE_DEFAULTS.cacheMaxEntries,
  );
  const cacheMaxBytes = nonNegInt(
    'cacheMaxBytes',
    init.cacheMaxBytes,
    STORE_DEFAULTS.cacheMaxBytes,
  );
  const sweepIntervalMs = nonNegInt(
    'sweepIntervalMs',
    init.sweepIntervalMs,
    STORE_DEFAULTS.sweepIntervalMs,
  );
  const sweepBatchSize = nonNegInt(
    'sweepBatchSize',
    init.sweepBatchSize,
    STORE_DEFAULTS.sweepBatchSize,
  );
  if (sweepBatchSize === 0) throw new RangeError('sweepBatchSize must be at least 1');
  const maxValueBytes = nonNegInt(
    'maxValueBytes',
    init.maxValueBytes,
    STORE_DEFAULTS.maxValueBytes,
  );
  const names = new Set<string>(NAMESPACES);
  for (const n of [...(init.namespaces ?? []), ...(init.secretNamespaces ?? [])]) {
    if (typeof n !== 'string' || !NAME.test(n))
      throw new RangeError(`Bad namespace name ${JSON.stringify(n)}`);
    names.add(n);
  }
  const secrets = new Set<string>([...SECRET_NAMESPACES, ...(init.secretNamespaces ?? [])]);
  const nsBytes = new Map<string, Uint8Array>([...names].map((n) => [n, Buffer.from(n, 'latin1')]));

  const cache = new LruCache(cacheMaxEntries, cacheMaxBytes);
  const perNs = new Map<string, { hits: number; misses: number }>(
    [...names].map((n) => [n, { hits: 0, misses: 0 }]),
  );
  const counters = { writes: 0, deletes: 0, expired: 0, batches: 0 };
  const handles = new WeakSet<object>();

  let backend: Backend | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let sweepTimer: Timer | undefined;
  let sweeping: Promise<unknown> | undefined;
  const inflight = new Set<Promise<unknown>>();

  const live = (): Backend => {
    if (backend === undefined || stopping !== undefined)
      throw new NotStartedError('The store is not started');
    return backend;
  };
  const ck = (ns: string, key: Uint8Array): string => `${ns}\u0000${latin1(key)}`;
  const expired = (exp: number | undefined, now: number): boolean =>
    exp !== undefined && exp <= now;

  const engineError = (err: unknown): never => {
    if (err instanceof StoreCorruptedError) throw err;
    const e = err as { code?: unknown; message?: unknown };
    const msg = typeof e?.message === 'string' ? e.message : String(err);
    if (/MDB_(CORRUPTED|PAGE_NOTFOUND|INVALID|BAD_TXN|PANIC)/.test(msg)) {
      throw new StoreCorruptedError(options.path, 'engine', msg, { cause: err });
    }
    throw err;
  };

  const checkRecord = (ns: string, key: Uint8Array, stored: Uint8Array): RawRecord => {
    const rec = decodeRecord(key, stored);
    if (typeof rec === 'string') {
      throw new StoreCorruptedError(
        options.path,
        'bad-record',
        `${rec} (namespace "${ns}", key ${Buffer.from(key).toString('hex').slice(0, 64)})`,
      );
    }
    return rec;
  };

  function trackWrite<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    const done = (): void => {
      inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  const core: Core = {
    clock,
    maxValueBytes,
    checkNamespace(name) {
      if (!names.has(name)) throw new RangeError(`Unknown namespace ${JSON.stringify(name)}`);
    },
    isSecret: (name) => secrets.has(name),
    owns: (h) => typeof h === 'object' && h !== null && handles.has(h),
    registerHandle: (h) => handles.add(h),

    read(ns, key) {
      const b = live();
      const stats = perNs.get(ns) as { hits: number; misses: number };
      const now = clock.now();
      const k = cache.enabled ? ck(ns, key) : undefined;
      if (k !== undefined) {
        const hit = cache.get(k);
        if (hit !== undefined) {
          cache.hits++;
          stats.hits++;
          if (expired(hit.expiresAtMs, now)) {
            cache.delete(k);
            return undefined;
          }
          return hit;
        }
      }
      cache.misses++;
      stats.misses++;
      let stored: Uint8Array | undefined;
      try {
        // Valid only until the next backend call: check it and copy the value out at once.
        stored = b.get(nsTable(ns), key);
      } catch (err) {
        engineError(err);
      }
      if (stored === undefined) return undefined;
      const rec = checkRecord(ns, key, stored);
      if (expired(rec.expiresAtMs, now)) return undefined;
      if (k === undefined) return rec; // callers decode (copy) before the next backend call
      const entry = { value: rec.value.slice(), expiresAtMs: rec.expiresAtMs };
      cache.set(k, entry);
      return entry;
    },

    *scan(ns, opts) {
      const b = live();
      const bounds: Bounds = scanBounds(opts);
      const limit = opts.limit ?? Infinity;
      if (!(limit >= 0)) throw new RangeError('limit must be a non-negative number');
      const reverse = opts.reverse === true;
      const now = clock.now();
      let n = 0;
      if (n >= limit) return;
      const it = reverse
        ? b.range(nsTable(ns), { lt: bounds.lt, reverse: true })
        : b.range(nsTable(ns), { gte: bounds.gte, lt: bounds.lt });
      try {
        for (const [key, stored] of it) {
          if (reverse && bounds.gte !== undefined && compareBytes(key, bounds.gte) < 0) break;
          if (!inBounds(key, bounds)) continue;
          const rec = checkRecord(ns, key, stored);
          if (expired(rec.expiresAtMs, now)) continue;
          yield [key, rec];
          if (++n >= limit) return;
        }
      } catch (err) {
        engineError(err);
      }
    },

    preparePut(ns, codec, key, value, opts = {}) {
      const k = keyBytes(key);
      const bytes = codec.encode(value);
      if (!(bytes instanceof Uint8Array))
        throw new TypeError(`Codec ${codec.name} did not return bytes`);
      if (bytes.length > maxValueBytes) {
        throw new RangeError(
          `Value of ${bytes.length} bytes exceeds maxValueBytes ${maxValueBytes}`,
        );
      }
      if (secrets.has(ns)) {
        const why = parseEnvelope(bytes);
        if (typeof why === 'string') throw new UnsealedSecretError(ns, why);
      }
      let exp: number | undefined;
      if (opts.ttlMs !== undefined && opts.expiresAtMs !== undefined) {
        throw new TypeError('Give ttlMs or expiresAtMs, not both');
      }
      if (opts.ttlMs !== undefined) {
        if (!Number.isFinite(opts.ttlMs) || opts.ttlMs <= 0)
          throw new RangeError('ttlMs must be a positive number');
        exp = Math.ceil(clock.now() + opts.ttlMs);
      } else if (opts.expiresAtMs !== undefined) {
        if (!Number.isFinite(opts.expiresAtMs) || opts.expiresAtMs <= 0) {
          throw new RangeError('expiresAtMs must be a positive time');
        }
        exp = Math.ceil(opts.expiresAtMs);
      }
      if (exp !== undefined && exp > MAX_EXPIRY_MS)
        throw new RangeError('expiry too far in the future');
      return { kind: 'put', ns, key: k, stored: encodeRecord(k, bytes, exp), expiresAtMs: exp };
    },

    decode(ns, codec, bytes) {
      try {
        return codec.decode(bytes);
      } catch (err) {
        throw new StoreDecodeError(ns, { cause: err });
      }
    },

    commit(ops, opts = {}) {
      throwIfAborted(opts.signal);
      const b = live();
      // Cache keys, also used to spot a key written twice in one batch.
      const ids = cache.enabled || ops.length > 1 ? ops.map((op) => ck(op.ns, op.key)) : undefined;
      if (cache.enabled && ids !== undefined) for (const id of ids) cache.delete(id);
      const now = clock.now();
      const run = (txn: BackendTxn): boolean[] => {
        // Phase 1: reads only (the old expiry of each key), so nothing is half-written if one
        // throws. Reads return transient bytes: take what is needed at once.
        const oldExps = ops.map((op) => {
          const old = txn.get(nsTable(op.ns), op.key);
          return old === undefined ? null : recordExpiry(old);
        });
        // Phase 2: writes. A later op on a key the batch already wrote sees that write.
        const seen = ops.length > 1 ? new Set<string>() : undefined;
        return ops.map((op, i) => {
          const table = nsTable(op.ns);
          const nsb = nsBytes.get(op.ns) as Uint8Array;
          let oldExp = oldExps[i];
          if (seen !== undefined && ids !== undefined) {
            const id = ids[i] as string;
            if (seen.has(id)) {
              const cur = txn.get(table, op.key);
              oldExp = cur === undefined ? null : recordExpiry(cur);
            }
            seen.add(id);
          }
          if (oldExp !== null && oldExp !== undefined) {
            txn.del(EXPIRY_TABLE, expiryIndexKey(oldExp, nsb, op.key));
          }
          if (op.kind === 'put') {
            txn.put(table, op.key, op.stored as Uint8Array);
            if (op.expiresAtMs !== undefined) {
              txn.put(EXPIRY_TABLE, expiryIndexKey(op.expiresAtMs, nsb, op.key), new Uint8Array(0));
            }
            return true;
          }
          if (oldExp === null) return false;
          txn.del(table, op.key);
          return !expired(oldExp, now);
        });
      };
      const p = b.transact(run).then(
        (results) => {
          counters.batches++;
          ops.forEach((op, i) => {
            if (op.kind === 'put') {
              counters.writes++;
              if (ids !== undefined && cache.enabled) {
                const stored = op.stored as Uint8Array;
                cache.set(ids[i] as string, {
                  value: stored.subarray(HEADER_BYTES),
                  expiresAtMs: op.expiresAtMs,
                });
              }
            } else {
              counters.deletes++;
              if (ids !== undefined) cache.delete(ids[i] as string);
            }
          });
          return results;
        },
        (err: unknown) => {
          if (ids !== undefined) for (const id of ids) cache.delete(id);
          return engineError(err);
        },
      );
      return trackWrite(p);
    },

    clear(ns, opts = {}) {
      throwIfAborted(opts.signal);
      const b = live();
      const table = nsTable(ns);
      const nsb = nsBytes.get(ns) as Uint8Array;
      const p = b
        .transact((txn) => {
          const all = [...txn.range(table, {})];
          for (const [key, stored] of all) {
            const exp = recordExpiry(stored);
            if (exp !== undefined) txn.del(EXPIRY_TABLE, expiryIndexKey(exp, nsb, key));
            txn.del(table, key);
          }
          return all.length;
        })
        .then(
          (n) => {
            counters.deletes += n;
            cache.clear();
          },
          (err: unknown) => {
            cache.clear();
            engineError(err);
          },
        );
      return trackWrite(p);
    },
  };

  async function sweepExpired(opts: { limit?: number } & AbortOptions = {}): Promise<number> {
    throwIfAborted(opts.signal);
    const b = live();
    const limit = opts.limit ?? sweepBatchSize;
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError('limit must be a positive integer');
    const now = clock.now();
    const removed = await trackWrite(
      b.transact((txn) => {
        const due = [...txn.range(EXPIRY_TABLE, { lt: expiryIndexUntil(now), limit })];
        const out: Array<[string, Uint8Array]> = [];
        for (const [ik] of due) {
          const parsed = parseExpiryIndexKey(ik);
          txn.del(EXPIRY_TABLE, ik);
          if (parsed === undefined || !names.has(parsed.ns)) continue;
          const table = nsTable(parsed.ns);
          const stored = txn.get(table, parsed.key);
          if (stored !== undefined && recordExpiry(stored) === parsed.expiresAtMs) {
            txn.del(table, parsed.key);
            out.push([parsed.ns, parsed.key]);
          }
        }
        return out;
      }),
    ).catch(engineError);
    for (const [ns, key] of removed) cache.delete(ck(ns, key));
    counters.expired += removed.length;
    if (removed.length > 0) log.debug({ removed: removed.length }, 'expired records swept');
    return removed.length;
  }

  const scheduleSweep = (): void => {
    if (sweepIntervalMs === 0 || backend === undefined || stopping !== undefined) return;
    sweepTimer = clock.setTimeout(() => {
      sweepTimer = undefined;
      sweeping = (async () => {
        for (let round = 0; round < MAX_SWEEP_ROUNDS_PER_TICK; round++) {
          if (backend === undefined || stopping !== undefined) return;
          if ((await sweepExpired()) < sweepBatchSize) return;
        }
      })()
        .catch((err: unknown) => log.error({ err }, 'expiry sweep failed'))
        .finally(() => {
          sweeping = undefined;
          scheduleSweep();
        });
    }, sweepIntervalMs);
  };

  const store = {
    backend: options.kind,
    core,
    currentBackend: () => backend,
    namespace<V = Uint8Array>(name: string, codec?: Codec<V>) {
      core.checkNamespace(name);
      return createNamespace<V>(core, name, codec);
    },
    batch: () => createBatch(core),
    sweepExpired,
    stats(): StoreStats {
      return {
        backend: options.kind,
        cache: cache.stats(),
        namespaces: Object.fromEntries([...perNs].map(([n, s]) => [n, { ...s }])),
        ...counters,
      };
    },
    clearCache: () => cache.clear(),
    async start() {
      if (backend !== undefined && stopping === undefined) return;
      if (stopping !== undefined) await stopping;
      if (starting !== undefined) return starting;
      starting = (async () => {
        backend = await options.open();
        scheduleSweep();
      })().finally(() => {
        starting = undefined;
      });
      return starting;
    },
    async stop() {
      if (starting !== undefined) await starting.catch(() => {});
      if (stopping !== undefined) return stopping;
      if (backend === undefined) return;
      const b = backend;
      stopping = (async () => {
        sweepTimer?.cancel();
        sweepTimer = undefined;
        await sweeping;
        await Promise.allSettled([...inflight]);
        cache.clear();
        try {
          await b.close();
        } finally {
          backend = undefined;
          await options.afterClose?.();
        }
      })().finally(() => {
        stopping = undefined;
      });
      return stopping;
    },
  };
  return store;
}

export type { Entry };
