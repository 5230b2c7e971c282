// The lmdb backend: one environment (data.mdb) per store directory, one named database per table,
// binary keys (memcmp order) and binary values. Writes run in an lmdb child transaction (so a
// throwing callback rolls back alone) and resolve after commit and, with durability 'flushed',
// after the commit reached the disk.
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Backend, BackendTxn, RangeQuery } from '../backend.js';
import { compareBytes } from '../keys.js';

export type Durability = 'flushed' | 'committed';

export interface LmdbBackend extends Backend {
  readonly env: RootDatabase<Buffer, Buffer>;
  /** Copies the environment into the existing, empty directory `dir` (lmdb's hot backup). */
  backup(dir: string, compact: boolean): Promise<void>;
  stats(): { lastPageNumber: number; pageSize: number };
}

// lmdb-js takes Uint8Array keys (copied with `set`) and values (stored as they are) directly;
// the casts only satisfy its Buffer-typed signatures.
const asBuf = (b: Uint8Array): Buffer => b as Buffer;

export function openLmdbBackend(
  dir: string,
  tables: readonly string[],
  opts: { durability: Durability; mapSize?: number | undefined },
): LmdbBackend {
  const env = open<Buffer, Buffer>({
    path: dir,
    maxDbs: tables.length + 4,
    keyEncoding: 'binary',
    encoding: 'binary',
    ...(opts.mapSize !== undefined ? { mapSize: opts.mapSize } : {}),
  });
  const dbs = new Map<string, Database<Buffer, Buffer>>();
  try {
    for (const t of tables) {
      dbs.set(
        t,
        env.openDB<Buffer, Buffer>({ name: t, keyEncoding: 'binary', encoding: 'binary' }),
      );
    }
  } catch (err) {
    void env.close();
    throw err;
  }
  const db = (t: string): Database<Buffer, Buffer> => {
    const d = dbs.get(t);
    if (d === undefined) throw new Error(`unknown table ${t}`);
    return d;
  };

  function* range(t: string, q: RangeQuery): Generator<[Uint8Array, Uint8Array]> {
    const d = db(t);
    const limit = q.limit ?? Infinity;
    if (limit <= 0) return;
    let n = 0;
    if (q.reverse === true) {
      // lmdb's reverse range starts at `start` inclusive and stops before `end`.
      const it = d.getRange({
        ...(q.lt !== undefined ? { start: asBuf(q.lt) } : {}),
        reverse: true,
      });
      for (const { key, value } of it) {
        const k = key;
        if (q.lt !== undefined && compareBytes(k, q.lt) >= 0) continue;
        if (q.gte !== undefined && compareBytes(k, q.gte) < 0) return;
        yield [new Uint8Array(k), value];
        if (++n >= limit) return;
      }
      return;
    }
    const it = d.getRange({
      ...(q.gte !== undefined ? { start: asBuf(q.gte) } : {}),
      ...(q.lt !== undefined ? { end: asBuf(q.lt) } : {}),
    });
    for (const { key, value } of it) {
      yield [new Uint8Array(key), value];
      if (++n >= limit) return;
    }
  }

  // getBinaryFast reuses one buffer and only overrides its `length` property: take a true view
  // of the value's bytes (valid until the next read, as the Backend contract says).
  const get = (t: string, k: Uint8Array): Uint8Array | undefined => {
    const b = db(t).getBinaryFast(asBuf(k));
    return b === undefined ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.length);
  };

  const txn: BackendTxn = {
    get,
    put: (t, k, v) => {
      db(t).putSync(asBuf(k), asBuf(v));
    },
    del: (t, k) => db(t).removeSync(asBuf(k)),
    range,
  };

  return {
    kind: 'lmdb',
    env,
    get,
    range,
    async transact<T>(fn: (txn: BackendTxn) => T): Promise<T> {
      const result = await env.childTransaction(() => fn(txn));
      if (opts.durability === 'flushed') await env.flushed;
      return result;
    },
    backup: (target, compact) => env.backup(target, compact),
    stats() {
      const s = env.getStats() as { lastPageNumber: number; pageSize: number };
      return { lastPageNumber: s.lastPageNumber, pageSize: s.pageSize };
    },
    close: () => env.close(),
  };
}
