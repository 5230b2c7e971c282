// The in-memory backend: one Map per table keyed by the key's latin1 string (one UTF-16 unit per
// byte, so string order is memcmp order), with a lazily rebuilt sorted key list for ranges.
import type { Backend, BackendTxn, RangeQuery } from './backend.js';

interface Table {
  map: Map<string, { key: Uint8Array; value: Uint8Array }>;
  sorted: string[] | undefined;
}

const toStr = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function lowerBound(arr: readonly string[], s: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as string) < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The tables of a memory store; survives stop/start of the store that owns it. */
export interface MemoryData {
  tables: Map<string, Table>;
}

export function createMemoryData(): MemoryData {
  return { tables: new Map() };
}

export function createMemoryBackend(data: MemoryData): Backend {
  const table = (name: string): Table => {
    let t = data.tables.get(name);
    if (t === undefined) {
      t = { map: new Map(), sorted: undefined };
      data.tables.set(name, t);
    }
    return t;
  };

  function* range(name: string, q: RangeQuery): Generator<[Uint8Array, Uint8Array]> {
    const t = table(name);
    if (t.sorted === undefined) t.sorted = [...t.map.keys()].sort();
    const keys = t.sorted;
    const lo = q.gte === undefined ? 0 : lowerBound(keys, toStr(q.gte));
    const hi = q.lt === undefined ? keys.length : lowerBound(keys, toStr(q.lt));
    const limit = q.limit ?? Infinity;
    let n = 0;
    if (q.reverse === true) {
      for (let i = hi - 1; i >= lo && n < limit; i--) {
        const e = t.map.get(keys[i] as string);
        if (e === undefined) continue;
        n++;
        yield [e.key.slice(), e.value.slice()];
      }
    } else {
      for (let i = lo; i < hi && n < limit; i++) {
        const e = t.map.get(keys[i] as string);
        if (e === undefined) continue;
        n++;
        yield [e.key.slice(), e.value.slice()];
      }
    }
  }

  // Hands out the stored array itself; the contract says callers copy what they keep.
  const get = (name: string, key: Uint8Array): Uint8Array | undefined =>
    table(name).map.get(toStr(key))?.value;

  let closed = false;
  return {
    kind: 'memory',
    get,
    range,
    transact<T>(fn: (txn: BackendTxn) => T): Promise<T> {
      if (closed) return Promise.reject(new Error('memory backend closed'));
      const undo: Array<() => void> = [];
      const txn: BackendTxn = {
        get,
        range,
        put(name, key, value) {
          const t = table(name);
          const k = toStr(key);
          const prev = t.map.get(k);
          if (prev === undefined) t.sorted = undefined;
          t.map.set(k, { key: key.slice(), value: value.slice() });
          undo.push(() => {
            if (prev === undefined) {
              t.map.delete(k);
              t.sorted = undefined;
            } else t.map.set(k, prev);
          });
        },
        del(name, key) {
          const t = table(name);
          const k = toStr(key);
          const prev = t.map.get(k);
          if (prev === undefined) return false;
          t.map.delete(k);
          undo.push(() => {
            t.map.set(k, prev);
            t.sorted = undefined;
          });
          return true;
        },
      };
      try {
        const result = fn(txn);
        return Promise.resolve(result);
      } catch (err) {
        for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
