// @detr/stored: put/get throughput of the lmdb and in-memory stores, with the cache hit and
// missed, beside raw lmdb-js (the engine alone: no record header, checksum, TTL index or cache).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { createLmdbStore, createMemoryStore, type Store } from '@detr/stored';
import type { BenchContext, Benchmark } from '../lib/harness.js';

export interface StoreFigures {
  /** Records/s written in atomic batches of `batchSize`, each batch awaited (durable). */
  putBatched: number;
  /** Single `put()` calls/s, `concurrency` in flight at once. */
  putConcurrent: number;
  /** `get()`/s when every read is served by the cache. */
  getHit: number;
  /** `get()`/s with the cache disabled (every read goes to the backend and checks the record). */
  getMiss: number;
  /** Records/s read by a full prefix scan. */
  scan: number;
  hitRate: number;
}

const key = (i: number): string => `rec/${String(i).padStart(8, '0')}`;

function rate(n: number, ms: number): number {
  return (n / ms) * 1000;
}

/** Measures one store kind: `n` records of `valueBytes`, batches of `batchSize`. */
export async function measureStore(
  kind: 'lmdb' | 'memory',
  options: { n: number; valueBytes?: number; batchSize?: number; concurrency?: number },
): Promise<StoreFigures> {
  const { n } = options;
  const valueBytes = options.valueBytes ?? 100;
  const batchSize = options.batchSize ?? 1000;
  const concurrency = options.concurrency ?? 100;
  const dir = kind === 'lmdb' ? mkdtempSync(join(tmpdir(), 'detr-bench-stored-')) : undefined;
  // The cache is sized to hold every record for the hit figures, and off for the miss figures.
  const make = (cacheMaxEntries: number): Store => {
    const init = { sweepIntervalMs: 0, cacheMaxEntries, cacheMaxBytes: 256 * 1024 * 1024 };
    return dir === undefined
      ? createMemoryStore({}, init)
      : createLmdbStore({}, { ...init, path: join(dir, 'store') });
  };
  const value = new Uint8Array(valueBytes).fill(7);
  try {
    let store = make(n);
    await store.start();
    let ns = store.namespace('dht-records');

    let t = performance.now();
    for (let i = 0; i < n; i += batchSize) {
      const batch = store.batch();
      for (let j = i; j < Math.min(n, i + batchSize); j++) batch.put(ns, key(j), value);
      await batch.commit();
    }
    const putBatched = rate(n, performance.now() - t);

    const m = Math.min(n, 20_000);
    t = performance.now();
    for (let i = 0; i < m; i += concurrency) {
      const writes: Array<Promise<void>> = [];
      for (let j = i; j < Math.min(m, i + concurrency); j++) writes.push(ns.put(key(j), value));
      await Promise.all(writes);
    }
    const putConcurrent = rate(m, performance.now() - t);

    for (let i = 0; i < n; i++) ns.get(key(i)); // warm the cache
    const before = store.stats().cache;
    t = performance.now();
    for (let i = 0; i < n; i++) ns.get(key(i));
    const getHit = rate(n, performance.now() - t);
    const after = store.stats().cache;
    const hitRate = (after.hits - before.hits) / n;

    t = performance.now();
    let seen = 0;
    for (const _ of ns.scan({ prefix: 'rec/' })) seen++;
    const scan = rate(seen, performance.now() - t);

    await store.stop();

    // Misses: a store with the cache off holding the same records (lmdb: the same directory
    // reopened; memory: filled again).
    store = make(0);
    await store.start();
    ns = store.namespace('dht-records');
    if (kind === 'memory') {
      for (let i = 0; i < n; i += batchSize) {
        const batch = store.batch();
        for (let j = i; j < Math.min(n, i + batchSize); j++) batch.put(ns, key(j), value);
        await batch.commit();
      }
    }
    t = performance.now();
    for (let i = 0; i < n; i++) ns.get(key(i));
    const getMiss = rate(n, performance.now() - t);
    await store.stop();
    return { putBatched, putConcurrent, getHit, getMiss, scan, hitRate };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw lmdb-js with the same workload: batched transactions and `getBinary`. */
export async function measureRawLmdb(
  n: number,
  valueBytes = 100,
  batchSize = 1000,
): Promise<{ put: number; get: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'detr-bench-lmdb-'));
  try {
    const env = openLmdb<Buffer, Buffer>({
      path: dir,
      keyEncoding: 'binary',
      encoding: 'binary',
      maxDbs: 4,
    });
    const db = env.openDB<Buffer, Buffer>({
      name: 'records',
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    const value = Buffer.alloc(valueBytes, 7);
    const keys = Array.from({ length: n }, (_, i) => Buffer.from(key(i)));
    let t = performance.now();
    for (let i = 0; i < n; i += batchSize) {
      await env.transaction(() => {
        for (let j = i; j < Math.min(n, i + batchSize); j++) db.putSync(keys[j] as Buffer, value);
      });
      await env.flushed;
    }
    const put = rate(n, performance.now() - t);
    t = performance.now();
    for (let i = 0; i < n; i++) db.getBinary(Buffer.from(key(i)));
    const get = rate(n, performance.now() - t);
    await env.close();
    return { put, get };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(ctx: BenchContext, prefix: string, f: StoreFigures): void {
  ctx.figure(`${prefix}.put.batched`, f.putBatched, 'ops/s');
  ctx.figure(`${prefix}.put.concurrent`, f.putConcurrent, 'ops/s');
  ctx.figure(`${prefix}.get.hit`, f.getHit, 'ops/s');
  ctx.figure(`${prefix}.get.miss`, f.getMiss, 'ops/s');
  ctx.figure(`${prefix}.scan`, f.scan, 'records/s');
  ctx.figure(`${prefix}.cache.hitrate`, f.hitRate * 100, '%');
}

const bench: Benchmark = {
  name: 'stored',
  description: 'store put/get ops/s (cache hit and miss), lmdb and memory, beside raw lmdb-js',
  async run(ctx) {
    const n = ctx.quick ? 10_000 : 100_000;
    ctx.note(
      `stored: ${n} records of 100 B, batches of 1000, 100 concurrent single puts; durable writes (lmdb 'flushed')`,
    );
    // A small untimed round first, so the figures are not the JIT's warm-up.
    await measureStore('lmdb', { n: 5000 });
    await measureStore('memory', { n: 5000 });
    await measureRawLmdb(5000);
    const lmdb = await measureStore('lmdb', { n });
    report(ctx, 'stored.lmdb', lmdb);
    const memory = await measureStore('memory', { n });
    report(ctx, 'stored.memory', memory);
    const raw = await measureRawLmdb(n);
    ctx.figure('stored.raw-lmdb.put.batched', raw.put, 'ops/s');
    ctx.figure('stored.raw-lmdb.get', raw.get, 'ops/s');
    ctx.ratio('stored.lmdb.put.batched.detr/raw-lmdb', lmdb.putBatched, raw.put);
    ctx.ratio('stored.lmdb.get.miss.detr/raw-lmdb', lmdb.getMiss, raw.get);
    ctx.ratio('stored.lmdb.get.hit.detr/raw-lmdb', lmdb.getHit, raw.get);
  },
};

export default bench;
