// The store compliance suite: every Store implementation (lmdb, memory, and any test double)
// runs it. `open` builds a fresh, started store on the given clock; `cleanup` stops it and removes
// whatever it left behind.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AbortError, NotStartedError, createManualClock, type ManualClock } from '@detr/interface';
import {
  NAMESPACES,
  SecretOpenError,
  StoreDecodeError,
  UnsealedSecretError,
  bytesCodec,
  jsonCodec,
  openSecret,
  sealSecret,
  stringCodec,
  type Store,
  type StoreInit,
} from '../../src/index.js';

export interface StoreFactory {
  name: string;
  open(clock: ManualClock, init?: StoreInit): Promise<Store>;
  cleanup(): Promise<void>;
}

const b = (...bytes: number[]): Uint8Array => new Uint8Array(bytes);
const text = (u: Uint8Array): string => Buffer.from(u).toString();
const keysOf = (it: Iterable<{ key: Uint8Array }>): string[] => [...it].map((e) => text(e.key));

export function runStoreCompliance(factory: StoreFactory): void {
  describe(`store compliance: ${factory.name}`, () => {
    let clock: ManualClock;
    let store: Store;
    const open = async (init: StoreInit = {}): Promise<Store> => {
      store = await factory.open(clock, { sweepIntervalMs: 0, ...init });
      return store;
    };

    beforeEach(async () => {
      clock = createManualClock();
      await open();
    });
    afterEach(async () => {
      await factory.cleanup();
    });

    describe('namespaces and basic records', () => {
      it('has every built-in namespace, each its own key space', async () => {
        for (const name of NAMESPACES) {
          if (name === 'keys') continue;
          await store.namespace(name).put('same', b(NAMESPACES.indexOf(name)));
        }
        for (const name of NAMESPACES) {
          if (name === 'keys') continue;
          expect(store.namespace(name).get('same')).toEqual(b(NAMESPACES.indexOf(name)));
        }
        expect(() => store.namespace('nope')).toThrow(RangeError);
      });

      it('puts, gets, overwrites and deletes', async () => {
        const ns = store.namespace('peers');
        expect(ns.get('a')).toBeUndefined();
        expect(ns.has('a')).toBe(false);
        await ns.put('a', b(1, 2, 3));
        expect(ns.get('a')).toEqual(b(1, 2, 3));
        expect(ns.has('a')).toBe(true);
        await ns.put('a', b(9));
        expect(ns.get('a')).toEqual(b(9));
        expect(await ns.delete('a')).toBe(true);
        expect(await ns.delete('a')).toBe(false);
        expect(ns.get('a')).toBeUndefined();
      });

      it('stores empty values and binary keys with 0x00 and 0xff bytes', async () => {
        const ns = store.namespace('dht-records');
        await ns.put(b(0), b());
        await ns.put(b(0xff, 0, 0xff), b(7));
        await ns.put('ünïcødé', b(8));
        expect(ns.get(b(0))).toEqual(b());
        expect(ns.get(b(0xff, 0, 0xff))).toEqual(b(7));
        expect(ns.get(Buffer.from('ünïcødé'))).toEqual(b(8));
      });

      it('copies values in and out', async () => {
        const ns = store.namespace('outbox');
        const v = b(1, 2, 3);
        await ns.put('k', v);
        v[0] = 99;
        const got = ns.get('k') as Uint8Array;
        expect(got).toEqual(b(1, 2, 3));
        got[1] = 99;
        expect(ns.get('k')).toEqual(b(1, 2, 3));
      });

      it('rejects bad keys and oversized values', async () => {
        const ns = store.namespace('peers');
        expect(() => ns.get('')).toThrow(RangeError);
        expect(() => ns.get(new Uint8Array(1025))).toThrow(RangeError);
        expect(() => ns.get(42 as any)).toThrow(TypeError);
        await expect(ns.put('', b(1))).rejects.toThrow(RangeError);
        await factory.cleanup();
        await open({ maxValueBytes: 10 });
        await expect(store.namespace('peers').put('k', new Uint8Array(11))).rejects.toThrow(
          RangeError,
        );
        await store.namespace('peers').put('k', new Uint8Array(10));
      });

      it('types values through codecs and reports a codec mismatch', async () => {
        const json = store.namespace('networks', jsonCodec<{ n: number; s: string }>());
        await json.put('x', { n: 1, s: 'é' });
        expect(json.get('x')).toEqual({ n: 1, s: 'é' });
        const str = store.namespace('networks', stringCodec);
        await str.put('y', 'hello');
        expect(str.get('y')).toBe('hello');
        expect(store.namespace('networks', bytesCodec).get('y')).toEqual(Buffer.from('hello'));
        await store.namespace('networks').put('bad', b(0xff, 0xfe));
        expect(() => json.get('bad')).toThrow(StoreDecodeError);
        expect(() => str.get('bad')).toThrow(StoreDecodeError);
      });
    });

    describe('scans', () => {
      const fill = async (): Promise<void> => {
        const ns = store.namespace('peers');
        const batch = store.batch();
        for (const k of ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c']) batch.put(ns, k, Buffer.from(k));
        batch.put(ns, b(0x61, 0xff), b(1));
        batch.put(ns, b(0x61, 0xff, 0xff), b(2));
        batch.put(ns, b(0x62, 0x00), b(3));
        await batch.commit();
      };

      it('visits keys in byte order, by prefix, bounds, reverse and limit', async () => {
        await fill();
        const ns = store.namespace('peers');
        const all = [...ns.scan()].map((e) => Buffer.from(e.key).toString('hex'));
        expect(all).toEqual([...all].sort());
        expect(all).toHaveLength(10);
        expect(keysOf(ns.scan({ prefix: 'ab' }))).toEqual(['ab', 'abc', 'abd']);
        expect([...ns.scan({ prefix: b(0x61, 0xff) })].map((e) => e.key)).toEqual([
          b(0x61, 0xff),
          b(0x61, 0xff, 0xff),
        ]);
        expect(
          keysOf(ns.scan({ gte: 'ab', lt: 'b' })).filter((k) => !k.includes('\ufffd')),
        ).toEqual(['ab', 'abc', 'abd']);
        expect(keysOf(ns.scan({ prefix: 'ab', reverse: true }))).toEqual(['abd', 'abc', 'ab']);
        const hexes = (it: Iterable<{ key: Uint8Array }>): string[] =>
          [...it].map((e) => Buffer.from(e.key).toString('hex'));
        expect(hexes(ns.scan({ gte: 'abc', lt: 'ba', reverse: true }))).toEqual([
          '6200',
          '62',
          '61ffff',
          '61ff',
          '616264',
          '616263',
        ]);
        expect(hexes(ns.scan({ gte: 'abc', lt: 'ba' }))).toEqual(
          hexes(ns.scan({ gte: 'abc', lt: 'ba', reverse: true })).reverse(),
        );
        expect(hexes(ns.scan({ gte: 'b', lt: 'b\u0000', reverse: true }))).toEqual(['62']);
        expect(keysOf(ns.scan({ prefix: 'a', limit: 2 }))).toEqual(['a', 'ab']);
        expect(keysOf(ns.scan({ prefix: 'a', limit: 0 }))).toEqual([]);
        expect(keysOf(ns.scan({ prefix: 'zz' }))).toEqual([]);
        expect(keysOf(ns.scan({ prefix: '' }))).toHaveLength(10);
        expect(ns.count({ prefix: 'a' })).toBe(6);
        expect(ns.count()).toBe(10);
        expect(store.namespace('tokens').count()).toBe(0);
      });

      it('can stop early and returns values with their expiry', async () => {
        await fill();
        const ns = store.namespace('peers');
        await ns.put('t', b(5), { ttlMs: 1000 });
        for (const e of ns.scan({ prefix: 't' })) {
          expect(e.value).toEqual(b(5));
          expect(e.expiresAtMs).toBe(clock.now() + 1000);
        }
        const it = ns.scan();
        expect(it.next().done).toBe(false);
        it.return?.(undefined);
        // The store still works after an abandoned iterator.
        await ns.put('after', b(1));
        expect(ns.get('after')).toEqual(b(1));
      });

      it('rejects a negative limit', () => {
        expect(() => [...store.namespace('peers').scan({ limit: -1 })]).toThrow(RangeError);
      });
    });

    describe('TTL and expiry', () => {
      it('hides a record once it expires, on get, has, scan and count', async () => {
        const ns = store.namespace('dht-records');
        await ns.put('t', b(1), { ttlMs: 1000 });
        await ns.put('p', b(2));
        expect(ns.getEntry('t')?.expiresAtMs).toBe(clock.now() + 1000);
        expect(ns.getEntry('p')?.expiresAtMs).toBeUndefined();
        clock.advance(999);
        expect(ns.get('t')).toEqual(b(1));
        clock.advance(1);
        expect(ns.get('t')).toBeUndefined();
        expect(ns.has('t')).toBe(false);
        expect(keysOf(ns.scan())).toEqual(['p']);
        expect(ns.count()).toBe(1);
        expect(await ns.delete('t')).toBe(false);
      });

      it('accepts an absolute expiry and validates TTL options', async () => {
        const ns = store.namespace('tokens');
        await ns.put('a', b(1), { expiresAtMs: clock.now() + 50 });
        expect(ns.getEntry('a')?.expiresAtMs).toBe(clock.now() + 50);
        await expect(ns.put('a', b(1), { ttlMs: 1, expiresAtMs: 5 })).rejects.toThrow(TypeError);
        await expect(ns.put('a', b(1), { ttlMs: 0 })).rejects.toThrow(RangeError);
        await expect(ns.put('a', b(1), { ttlMs: Number.NaN })).rejects.toThrow(RangeError);
        await expect(ns.put('a', b(1), { expiresAtMs: -1 })).rejects.toThrow(RangeError);
      });

      it('sweeps only what is due, and an overwrite clears the old expiry', async () => {
        const ns = store.namespace('revocations');
        await ns.put('soon', b(1), { ttlMs: 100 });
        await ns.put('later', b(2), { ttlMs: 10_000 });
        await ns.put('kept', b(3), { ttlMs: 100 });
        await ns.put('kept', b(4)); // no expiry any more
        await ns.put('moved', b(5), { ttlMs: 100 });
        await ns.put('moved', b(6), { ttlMs: 5000 });
        clock.advance(200);
        expect(await store.sweepExpired()).toBe(1);
        expect(store.stats().expired).toBe(1);
        clock.advance(1_000_000);
        expect(await store.sweepExpired()).toBe(2);
        expect(await store.sweepExpired()).toBe(0);
        expect(ns.get('kept')).toEqual(b(4));
        expect(keysOf(ns.scan())).toEqual(['kept']);
      });

      it('sweeps in bounded rounds', async () => {
        const ns = store.namespace('outbox');
        const batch = store.batch();
        for (let i = 0; i < 25; i++) batch.put(ns, `k${i}`, b(i), { ttlMs: 10 });
        await batch.commit();
        clock.advance(10);
        expect(await store.sweepExpired({ limit: 10 })).toBe(10);
        expect(await store.sweepExpired({ limit: 10 })).toBe(10);
        expect(await store.sweepExpired({ limit: 10 })).toBe(5);
        await expect(store.sweepExpired({ limit: 0 })).rejects.toThrow(RangeError);
      });

      it('sweeps on its own every sweepIntervalMs and stops sweeping on stop', async () => {
        await factory.cleanup();
        await open({ sweepIntervalMs: 1000, sweepBatchSize: 3 });
        const ns = store.namespace('outbox');
        const batch = store.batch();
        for (let i = 0; i < 7; i++) batch.put(ns, `k${i}`, b(i), { ttlMs: 500 });
        await batch.commit();
        await clock.advanceAsync(1000);
        for (let i = 0; i < 500 && store.stats().expired < 7; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        expect(store.stats().expired).toBe(7);
        await store.stop();
        expect(clock.pending()).toBe(0);
      });
    });

    describe('atomic batches', () => {
      it('commits writes and deletes across namespaces together', async () => {
        const peers = store.namespace('peers');
        const records = store.namespace('dht-records', stringCodec);
        await peers.put('gone', b(1));
        const batch = store
          .batch()
          .put(peers, 'p1', b(1))
          .put(records, 'r1', 'one')
          .delete(peers, 'gone');
        expect(batch.size).toBe(3);
        await batch.commit();
        expect(peers.get('p1')).toEqual(b(1));
        expect(records.get('r1')).toBe('one');
        expect(peers.has('gone')).toBe(false);
        expect(store.stats().batches).toBeGreaterThanOrEqual(2);
      });

      it('applies operations on one key in order', async () => {
        const ns = store.namespace('peers');
        await store.batch().put(ns, 'k', b(1), { ttlMs: 10 }).put(ns, 'k', b(2)).commit();
        expect(ns.getEntry('k')).toEqual({
          key: Buffer.from('k'),
          value: b(2),
          expiresAtMs: undefined,
        });
        await store.batch().put(ns, 'k', b(3)).delete(ns, 'k').commit();
        expect(ns.has('k')).toBe(false);
        await store.batch().delete(ns, 'k').put(ns, 'k', b(4), { ttlMs: 10 }).commit();
        clock.advance(10);
        expect(await store.sweepExpired()).toBe(1);
        expect(ns.has('k')).toBe(false);
      });

      it('refuses bad operations when they are added, so nothing is written', async () => {
        const ns = store.namespace('peers');
        const batch = store.batch().put(ns, 'ok', b(1));
        expect(() => batch.put(ns, '', b(1))).toThrow(RangeError);
        expect(() => batch.put(store.namespace('keys'), 'k', b(1, 2, 3))).toThrow(
          UnsealedSecretError,
        );
        const other = await factory
          .open(createManualClock(), { sweepIntervalMs: 0 })
          .catch(() => undefined);
        if (other !== undefined) {
          expect(() => store.batch().put(other.namespace('peers'), 'x', b(1))).toThrow(TypeError);
          await other.stop();
        }
        await batch.commit();
        await expect(batch.commit()).rejects.toThrow(TypeError);
        expect(() => batch.put(ns, 'late', b(1))).toThrow(TypeError);
        expect(ns.get('ok')).toEqual(b(1));
        await store.batch().commit(); // empty batch is a no-op
      });

      it('clears a namespace without touching the others', async () => {
        const a = store.namespace('peers');
        const c = store.namespace('tokens');
        const batch = store.batch();
        for (let i = 0; i < 20; i++) batch.put(a, `k${i}`, b(i), i % 2 === 0 ? { ttlMs: 5 } : {});
        batch.put(c, 'k0', b(0));
        await batch.commit();
        expect(a.get('k1')).toEqual(b(1));
        await a.clear();
        expect(a.count()).toBe(0);
        expect(a.get('k1')).toBeUndefined();
        expect(c.get('k0')).toEqual(b(0));
        clock.advance(10);
        expect(await store.sweepExpired()).toBe(0);
      });
    });

    describe('cache', () => {
      it('counts hits and misses, in total and per namespace', async () => {
        const ns = store.namespace('peers');
        await ns.put('k', b(1));
        store.clearCache();
        const before = store.stats();
        ns.get('k');
        ns.get('k');
        ns.get('k');
        ns.get('absent');
        const after = store.stats();
        expect(after.cache.misses - before.cache.misses).toBe(2);
        expect(after.cache.hits - before.cache.hits).toBe(2);
        expect(after.namespaces.peers?.hits).toBeGreaterThanOrEqual(2);
        expect(after.cache.hitRate).toBeGreaterThan(0);
        expect(after.cache.entries).toBe(1);
      });

      it('never serves a stale value after overwrite, delete, sweep or clear', async () => {
        const ns = store.namespace('peers');
        await ns.put('k', b(1), { ttlMs: 100 });
        expect(ns.get('k')).toEqual(b(1));
        await ns.put('k', b(2), { ttlMs: 100 });
        expect(ns.get('k')).toEqual(b(2));
        await store.batch().put(ns, 'k', b(3), { ttlMs: 100 }).commit();
        expect(ns.get('k')).toEqual(b(3));
        clock.advance(100);
        expect(ns.get('k')).toBeUndefined();
        await ns.put('j', b(4));
        expect(ns.get('j')).toEqual(b(4));
        await ns.delete('j');
        expect(ns.get('j')).toBeUndefined();
        await ns.put('j', b(5));
        ns.get('j');
        await ns.clear();
        expect(ns.get('j')).toBeUndefined();
      });

      it('evicts the least recently used entries at its bounds, and can be disabled', async () => {
        await factory.cleanup();
        await open({ cacheMaxEntries: 3 });
        const ns = store.namespace('peers');
        const batch = store.batch();
        for (let i = 0; i < 5; i++) batch.put(ns, `k${i}`, b(i));
        await batch.commit();
        expect(store.stats().cache.entries).toBe(3);
        store.clearCache();
        ns.get('k0');
        ns.get('k1');
        ns.get('k2');
        ns.get('k0'); // k0 is now the most recent
        ns.get('k3'); // evicts k1
        const s = store.stats().cache;
        expect(s.evictions).toBeGreaterThanOrEqual(1);
        const hits = s.hits;
        ns.get('k0');
        expect(store.stats().cache.hits).toBe(hits + 1);
        ns.get('k1');
        expect(store.stats().cache.hits).toBe(hits + 1);

        await factory.cleanup();
        await open({ cacheMaxEntries: 0 });
        await store.namespace('peers').put('k', b(1));
        store.namespace('peers').get('k');
        store.namespace('peers').get('k');
        expect(store.stats().cache).toMatchObject({ hits: 0, misses: 2, entries: 0 });
      });

      it('bounds the cache by bytes', async () => {
        await factory.cleanup();
        await open({ cacheMaxBytes: 4096 });
        const ns = store.namespace('peers');
        for (let i = 0; i < 10; i++) await ns.put(`k${i}`, new Uint8Array(1000));
        for (let i = 0; i < 10; i++) ns.get(`k${i}`);
        expect(store.stats().cache.bytes).toBeLessThanOrEqual(4096);
        expect(store.stats().cache.entries).toBeLessThan(10);
      });
    });

    describe('secrets', () => {
      it('stores only sealed envelopes in `keys`', async () => {
        const keys = store.namespace('keys');
        const raw = new Uint8Array(32).fill(7);
        await expect(keys.put('identity', raw)).rejects.toThrow(UnsealedSecretError);
        await expect(keys.put('identity', new Uint8Array(100))).rejects.toThrow(
          UnsealedSecretError,
        );
        expect(keys.has('identity')).toBe(false);
        const envelope = await sealSecret(raw, { passphrase: 'correct horse' }, { log2N: 10 });
        await keys.put('identity', envelope);
        const back = keys.get('identity') as Uint8Array;
        expect(Buffer.from(back).includes(Buffer.from(raw))).toBe(false);
        expect(await openSecret(back, { passphrase: 'correct horse' })).toEqual(raw);
        await expect(openSecret(back, { passphrase: 'wrong' })).rejects.toThrow(SecretOpenError);
        const tampered = back.slice();
        tampered[tampered.length - 20]! ^= 1;
        await expect(openSecret(tampered, { passphrase: 'correct horse' })).rejects.toThrow(
          SecretOpenError,
        );
      });

      it('seals with a raw 32-byte key too', async () => {
        const key = new Uint8Array(32).fill(3);
        const env = await sealSecret(b(1, 2, 3), { key });
        await store.namespace('keys').put('k', env);
        expect(await openSecret(store.namespace('keys').get('k')!, { key })).toEqual(b(1, 2, 3));
        await expect(openSecret(env, { key: new Uint8Array(32) })).rejects.toThrow(SecretOpenError);
        await expect(openSecret(env, { passphrase: 'x' })).rejects.toThrow(SecretOpenError);
        await expect(sealSecret(b(1), { key: new Uint8Array(16) })).rejects.toThrow(RangeError);
        await expect(sealSecret(b(1), { passphrase: '' })).rejects.toThrow(TypeError);
      });
    });

    describe('lifecycle', () => {
      it('refuses use before start and after stop; start and stop are idempotent', async () => {
        const ns = store.namespace('peers');
        await ns.put('k', b(1));
        await Promise.all([store.stop(), store.stop()]);
        await store.stop();
        expect(() => ns.get('k')).toThrow(NotStartedError);
        await expect(ns.put('k', b(2))).rejects.toThrow(NotStartedError);
        await Promise.all([store.start(), store.start()]);
        await store.start();
        expect(ns.get('k')).toEqual(b(1));
      });

      it('finishes writes in flight when stopped', async () => {
        const ns = store.namespace('peers');
        const writes = Array.from({ length: 20 }, (_, i) => ns.put(`k${i}`, b(i)));
        await store.stop();
        await Promise.all(writes);
        await store.start();
        expect(ns.count()).toBe(20);
      });

      it('rejects an aborted write without writing', async () => {
        const ns = store.namespace('peers');
        const ac = new AbortController();
        ac.abort();
        await expect(ns.put('k', b(1), { signal: ac.signal })).rejects.toThrow(AbortError);
        await expect(
          store.batch().put(ns, 'k', b(1)).commit({ signal: ac.signal }),
        ).rejects.toThrow(AbortError);
        await expect(store.sweepExpired({ signal: ac.signal })).rejects.toThrow(AbortError);
        expect(ns.has('k')).toBe(false);
      });
    });

    it('behaves like a sorted map under random operations (property)', async () => {
      const keyArb = fc.uint8Array({ minLength: 1, maxLength: 4, max: 3 });
      const opArb = fc.oneof(
        fc.record({
          t: fc.constant('put' as const),
          k: keyArb,
          v: fc.uint8Array({ maxLength: 4 }),
          ttl: fc.option(fc.integer({ min: 1, max: 50 })),
        }),
        fc.record({ t: fc.constant('del' as const), k: keyArb }),
        fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30 }) }),
        fc.record({ t: fc.constant('sweep' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { maxLength: 40 }),
          fc.uint8Array({ maxLength: 2, max: 3 }),
          async (ops, prefix) => {
            const ns = store.namespace('outbox');
            await ns.clear();
            store.clearCache();
            const model = new Map<string, { v: Uint8Array; exp: number | undefined }>();
            const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
            for (const op of ops) {
              if (op.t === 'put') {
                const exp = op.ttl === null ? undefined : clock.now() + op.ttl;
                await ns.put(op.k, op.v, op.ttl === null ? {} : { ttlMs: op.ttl });
                model.set(hex(op.k), { v: op.v, exp });
              } else if (op.t === 'del') {
                await ns.delete(op.k);
                model.delete(hex(op.k));
              } else if (op.t === 'tick') clock.advance(op.ms);
              else await store.sweepExpired();
            }
            const now = clock.now();
            const liveKeys = [...model]
              .filter(([, r]) => r.exp === undefined || r.exp > now)
              .map(([k]) => k)
              .filter((k) => k.startsWith(hex(prefix)))
              .sort();
            const got = [...ns.scan({ prefix })].map((e) => hex(e.key));
            expect(got).toEqual(liveKeys);
            for (const k of liveKeys)
              expect(ns.get(Buffer.from(k, 'hex'))).toEqual(model.get(k)?.v);
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
