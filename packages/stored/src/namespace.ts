// Typed namespace handles and atomic batches, thin layers over the core.
import type { AbortOptions } from '@detr/interface';
import { bytesCodec } from './codecs.js';
import type { Core, Op } from './core.js';
import { keyBytes } from './keys.js';
import type { Batch, Codec, Entry, Namespace, PutOptions, ScanOptions } from './types.js';

export function createNamespace<V>(core: Core, name: string, codec?: Codec<V>): Namespace<V> {
  const c = (codec ?? bytesCodec) as Codec<V>;
  const ns: Namespace<V> = {
    name,
    get(key) {
      const r = core.read(name, keyBytes(key));
      return r === undefined ? undefined : core.decode(name, c, r.value);
    },
    getEntry(key) {
      const k = keyBytes(key);
      const r = core.read(name, k);
      if (r === undefined) return undefined;
      return { key: k.slice(), value: core.decode(name, c, r.value), expiresAtMs: r.expiresAtMs };
    },
    has(key) {
      return core.read(name, keyBytes(key)) !== undefined;
    },
    async put(key, value, options: PutOptions & AbortOptions = {}) {
      const op = core.preparePut(name, c, key, value, options);
      await core.commit([op], options);
    },
    async delete(key, options: AbortOptions = {}) {
      const [existed] = await core.commit([{ kind: 'del', ns: name, key: keyBytes(key) }], options);
      return existed === true;
    },
    *scan(options: ScanOptions = {}): Generator<Entry<V>> {
      for (const [key, rec] of core.scan(name, options)) {
        yield { key, value: core.decode(name, c, rec.value), expiresAtMs: rec.expiresAtMs };
      }
    },
    count(options = {}) {
      let n = 0;
      for (const _ of core.scan(name, options)) n++;
      return n;
    },
    clear(options) {
      return core.clear(name, options);
    },
  };
  // Keep the codec with the handle so batches encode with it.
  codecs.set(ns, c);
  core.registerHandle(ns);
  return ns;
}

const codecs = new WeakMap<object, Codec<unknown>>();

export function createBatch(core: Core): Batch {
  const ops: Op[] = [];
  let committed = false;
  const check = (ns: Namespace<unknown>): Codec<unknown> => {
    if (committed) throw new TypeError('This batch was already committed');
    const c = codecs.get(ns);
    if (c === undefined || !core.owns(ns)) {
      throw new TypeError('The namespace handle does not belong to this store');
    }
    return c;
  };
  const batch: Batch = {
    get size() {
      return ops.length;
    },
    put(ns, key, value, options) {
      const c = check(ns);
      ops.push(core.preparePut(ns.name, c, key, value, options));
      return batch;
    },
    delete(ns, key) {
      check(ns);
      ops.push({ kind: 'del', ns: ns.name, key: keyBytes(key) });
      return batch;
    },
    async commit(options) {
      if (committed) throw new TypeError('This batch was already committed');
      committed = true;
      if (ops.length === 0) return;
      await core.commit(ops, options);
    },
  };
  return batch;
}
