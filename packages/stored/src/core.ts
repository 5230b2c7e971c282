// The typed layer shared by every backend: namespaces, record checksums, TTL and the expiry
// index, atomic batches, the LRU cache, the sweeper, the secret-namespace rule and lifecycle.
import {
  NotStartedError,
  noopLogger,
  systemClock,
  throwIfAborted,
  type AbortOptions,
} from '@detr/interface';
import { nsTable, type Backend, type BackendTxn } from './backend.js';
import { checkedRecord, rethrowEngineError } from './checks.js';
import type { Core, CoreOptions } from './core-types.js';
import { LruCache } from './cache.js';
import { StoreDecodeError } from './errors.js';
import { inBounds, scanBounds, compareBytes, type Bounds } from './keys.js';
import { HEADER_BYTES, type RawRecord } from './record.js';
import type { Codec, Entry, Store, StoreStats } from './types.js';
import { createBatch, createNamespace } from './namespace.js';
import { resolveOptions, type StoreComponents, type StoreInit } from './options.js';
import { createSweeper } from './sweeper.js';
import { applyOps, clearNamespace, preparePut, sweepDue } from './txn.js';

export type { Op } from './txn.js';
export type { Core, CoreOptions } from './core-types.js';
export type { StoreComponents, StoreInit } from './options.js';
export { STORE_DEFAULTS } from './options.js';

const latin1 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Sweep transactions run per timer tick at most (each of `sweepBatchSize` records). */
const MAX_SWEEP_ROUNDS_PER_TICK = 10;

/** Builds a {@link Store} over a backend opener. */
export function createStoreCore(
  components: StoreComponents,
  init: StoreInit,
  options: CoreOptions,
): Store & { readonly core: Core; currentBackend(): Backend | undefined } {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'stored' });
  const {
    cacheMaxEntries,
    cacheMaxBytes,
    sweepIntervalMs,
    sweepBatchSize,
    maxValueBytes,
    names,
    secrets,
    nsBytes,
  } = resolveOptions(init);

  const cache = new LruCache(cacheMaxEntries, cacheMaxBytes);
  const perNs = new Map<string, { hits: number; misses: number }>(
    [...names].map((n) => [n, { hits: 0, misses: 0 }]),
  );
  const counters = { writes: 0, deletes: 0, expired: 0, batches: 0 };
  const handles = new WeakSet<object>();

  let backend: Backend | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const inflight = new Set<Promise<unknown>>();

  const live = (): Backend => {
    if (backend === undefined || stopping !== undefined)
      throw new NotStartedError('The store is not started');
    return backend;
  };
  const ck = (ns: string, key: Uint8Array): string => `${ns}\u0000${latin1(key)}`;
  const expired = (exp: number | undefined, now: number): boolean =>
    exp !== undefined && exp <= now;

  const engineError = (err: unknown): never => rethrowEngineError(options.path, err);
  const checkRecord = (ns: string, key: Uint8Array, stored: Uint8Array): RawRecord =>
    checkedRecord(options.path, ns, key, stored);

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

    preparePut: (ns, codec, key, value, opts = {}) =>
      preparePut(ns, codec, key, value, opts, { nowMs: clock.now(), maxValueBytes, secrets }),

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
      const ids = cache.enabled ? ops.map((op) => ck(op.ns, op.key)) : undefined;
      if (ids !== undefined) for (const id of ids) cache.delete(id);
      const now = clock.now();
      const run = (txn: BackendTxn): boolean[] => applyOps(txn, ops, nsBytes, now);
      const p = b.transact(run).then(
        (results) => {
          counters.batches++;
          ops.forEach((op, i) => {
            if (op.kind === 'put') {
              counters.writes++;
              if (ids !== undefined) {
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
      const nsb = nsBytes.get(ns) as Uint8Array;
      const p = b
        .transact((txn) => clearNamespace(txn, ns, nsb))
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
    const removed = await trackWrite(b.transact((txn) => sweepDue(txn, now, limit, names))).catch(
      engineError,
    );
    for (const [ns, key] of removed) cache.delete(ck(ns, key));
    counters.expired += removed.length;
    if (removed.length > 0) log.debug({ removed: removed.length }, 'expired records swept');
    return removed.length;
  }

  const sweeper = createSweeper({
    clock,
    log,
    intervalMs: sweepIntervalMs,
    batchSize: sweepBatchSize,
    maxRounds: MAX_SWEEP_ROUNDS_PER_TICK,
    active: () => backend !== undefined && stopping === undefined,
    sweep: () => sweepExpired(),
  });

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
        sweeper.schedule();
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
        await sweeper.stop();
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
