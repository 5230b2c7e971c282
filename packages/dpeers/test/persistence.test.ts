// The registry and bans persist through @detr/stored (memory and lmdb stores).
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock, parseAddress, type ManualClock } from '@detr/interface';
import { createLmdbStore, createMemoryStore, type Store } from '@detr/stored';
import { createDpeers, type DpeersInit } from '../src/index.js';
import { fakePeerId, fakePeerIdFromString } from './support/fakes.js';

const MIN = 60_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function memoryStore(clock: ManualClock): Promise<Store> {
  const store = createMemoryStore({ clock }, { sweepIntervalMs: 0 });
  await store.start();
  cleanups.push(() => store.stop());
  return store;
}

const make = (store: Store, clock: ManualClock, init: DpeersInit = {}) =>
  createDpeers({ store, clock, peerIdFromString: fakePeerIdFromString }, init);

describe('persistence', () => {
  it('reloads entries (addresses, protocols, latency, score, ban count) after a restart', async () => {
    const clock = createManualClock();
    const store = await memoryStore(clock);
    const d1 = make(store, clock);
    await d1.start();
    const p = fakePeerId('p');
    d1.addAddresses(p, [parseAddress('/ip4/192.0.2.1/tcp/4001')], 'bootstrap');
    d1.addressSucceeded(p, parseAddress('/ip4/192.0.2.1/tcp/4001'));
    d1.setProtocols(p, ['/detr/dht/1']);
    d1.recordLatency(p, 42);
    d1.penalize(p, 'timeout');
    await d1.stop();

    const d2 = make(store, clock);
    await d2.start();
    const info = d2.get(p)!;
    expect(info.addresses.map((x) => [x.address.toString(), x.source, x.lastSuccessMs])).toEqual([
      ['/ip4/192.0.2.1/tcp/4001', 'bootstrap', clock.now()],
    ]);
    expect(info.protocols).toEqual(['/detr/dht/1']);
    expect(info.latencyMs).toBe(42);
    expect(d2.score(p)).toBe(-2);
    await d2.stop();
  });

  it('writes changes every persistIntervalMs without waiting for stop', async () => {
    const clock = createManualClock();
    const store = await memoryStore(clock);
    const d1 = make(store, clock, { persistIntervalMs: 1000 });
    await d1.start();
    d1.markSeen(fakePeerId('q'));
    expect(store.namespace('peers').count({ prefix: 'p/' })).toBe(0);
    await clock.advanceAsync(1000);
    expect(store.namespace('peers').count({ prefix: 'p/' })).toBe(1);
    await d1.stop();
    expect(clock.pending()).toBe(0);
  });

  it('keeps a ban across restarts until it ends, even for an entry evicted from memory', async () => {
    const clock = createManualClock();
    const store = await memoryStore(clock);
    const d1 = make(store, clock, { banBaseMs: 10 * MIN, maxKnownPeers: 2 });
    await d1.start();
    const bad = fakePeerId('bad');
    d1.ban(bad, { reason: 'spam' });
    await d1.stop();

    const d2 = make(store, clock, { maxKnownPeers: 2 });
    await d2.start();
    expect(d2.isBanned(bad)).toBe(true);
    expect(d2.allowPeer(bad, 'inbound', parseAddress('/ip4/203.0.113.1/tcp/1'))).toBe(false);
    // Fill the registry so the banned entry is evicted from memory (only bans left to evict;
    // the one ending soonest goes first).
    clock.advance(1000);
    for (let i = 0; i < 5; i++) d2.ban(fakePeerId(`other${i}`));
    await d2.flush();
    expect(d2.get(bad)).toBeUndefined();
    expect(d2.isBanned(bad)).toBe(true);
    clock.advance(10 * MIN);
    expect(d2.isBanned(bad)).toBe(false);
    await d2.stop();
  });

  it('skips malformed stored entries instead of failing to start', async () => {
    const clock = createManualClock();
    const store = await memoryStore(clock);
    await store.namespace('peers').put('p/garbage', new TextEncoder().encode('{"v":1'));
    await store
      .namespace('peers')
      .put('p/peerunknown', new TextEncoder().encode(JSON.stringify({ v: 2 })));
    const d = make(store, clock);
    await d.start();
    expect(d.stats().knownPeers).toBe(0);
    await d.stop();
  });

  it('persists through the lmdb store across processes-worth of reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'detr-dpeers-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const clock = createManualClock();
    const open = async (): Promise<Store> => {
      const s = createLmdbStore({ clock }, { path: join(dir, 'store'), sweepIntervalMs: 0 });
      await s.start();
      return s;
    };
    let store = await open();
    const d1 = make(store, clock);
    await d1.start();
    const bad = fakePeerId('lmdb-bad');
    for (let i = 0; i < 3; i++) d1.penalize(bad, 'bad-record');
    expect(d1.isBanned(bad)).toBe(true);
    await d1.stop();
    await store.stop();
    store = await open();
    cleanups.push(() => store.stop());
    const d2 = make(store, clock);
    await d2.start();
    expect(d2.isBanned(bad)).toBe(true);
    expect(d2.get(bad)?.banCount).toBe(1);
    await d2.stop();
  });
});
