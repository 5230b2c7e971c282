// What only a store on disk has: persistence across reopen, the directory lock, corruption found
// on open or on read, and backups.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '@detr/interface';
import {
  StoreCorruptedError,
  StoreLockedError,
  createLmdbStore,
  type LmdbStore,
} from '../src/index.js';
import { processStartTime } from '../src/lmdb/lock.js';
import { tempDir } from './support/tmp.js';

let dir: { path: string; remove(): void };
let path: string;
const stores: LmdbStore[] = [];
const make = (p = path): LmdbStore => {
  const s = createLmdbStore({}, { path: p, sweepIntervalMs: 0 });
  stores.push(s);
  return s;
};
const b = (...x: number[]): Uint8Array => new Uint8Array(x);

beforeEach(() => {
  dir = tempDir();
  path = join(dir.path, 'store');
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  dir.remove();
});

async function filled(n = 2000): Promise<void> {
  const s = make();
  await s.start();
  const ns = s.namespace('dht-records');
  const batch = s.batch();
  for (let i = 0; i < n; i++) batch.put(ns, `k${i}`, new Uint8Array(200).fill(i & 0xff));
  await batch.commit();
  await s.stop();
}

const expectCorrupt = async (s: LmdbStore, reason: string): Promise<StoreCorruptedError> => {
  const err = await s.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreCorruptedError);
  expect((err as StoreCorruptedError).reason).toBe(reason);
  expect((err as StoreCorruptedError).code).toBe('STORE_CORRUPTED');
  expect((err as StoreCorruptedError).recovery).toMatch(/salvageStore/);
  return err as StoreCorruptedError;
};

describe('persistence', () => {
  it('keeps records, expiries and namespaces across stop, reopen by a new object', async () => {
    const clock = createManualClock();
    const a = createLmdbStore({ clock }, { path, sweepIntervalMs: 0 });
    stores.push(a);
    await a.start();
    await a.namespace('peers').put('p', b(1));
    await a.namespace('tokens').put('t', b(2), { ttlMs: 1000 });
    await a.stop();
    const c = createLmdbStore({ clock }, { path, sweepIntervalMs: 0 });
    stores.push(c);
    await c.start();
    expect(c.namespace('peers').get('p')).toEqual(b(1));
    expect(c.namespace('tokens').getEntry('t')?.expiresAtMs).toBe(clock.now() + 1000);
    clock.advance(1000);
    expect(c.namespace('tokens').get('t')).toBeUndefined();
    expect(await c.sweepExpired()).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o700);
  });

  it('makes a backup that opens as a store', async () => {
    const a = make();
    await a.start();
    await a.namespace('peers').put('p', b(7));
    const target = join(dir.path, 'backup');
    await a.backup(target);
    await expect(a.backup(target)).rejects.toThrow(TypeError);
    const c = make(target);
    await c.start();
    expect(c.namespace('peers').get('p')).toEqual(b(7));
  });
});

describe('directory lock', () => {
  it('refuses a second open of the same directory in this process until the first stops', async () => {
    const a = make();
    await a.start();
    const c = make();
    const err = await c.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as StoreLockedError).holderPid).toBe(process.pid);
    expect((err as StoreLockedError).code).toBe('STORE_LOCKED');
    await a.stop();
    await c.start();
  });

  it('refuses a live holder in another process, and takes the lock once it dies', async () => {
    await filled(10);
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => child.once('spawn', r));
      const pid = child.pid as number;
      const start = processStartTime(pid);
      writeFileSync(
        join(path, 'LOCK'),
        JSON.stringify({
          pid,
          host: hostname(),
          bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
          start,
          token: 'x',
        }),
      );
      const err = await make()
        .start()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreLockedError);
      expect((err as StoreLockedError).holderPid).toBe(pid);
      // The same pid with another start time is a reused pid: the lock is stale.
      writeFileSync(
        join(path, 'LOCK'),
        JSON.stringify({ pid, host: hostname(), bootId: '', start: `${start}9`, token: 'x' }),
      );
      const s = make();
      await s.start();
      await s.stop();
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('close', r),
      );
    }
    // Now the holder is dead.
    writeFileSync(
      join(path, 'LOCK'),
      JSON.stringify({ pid: child.pid, host: hostname(), bootId: '', start: '', token: 'x' }),
    );
    const s = make();
    await s.start();
    expect(s.namespace('dht-records').count()).toBe(10);
  });

  it('breaks a lock from another boot, refuses one from another host', async () => {
    await filled(1);
    writeFileSync(
      join(path, 'LOCK'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        bootId: 'another-boot',
        start: '',
        token: 'x',
      }),
    );
    const a = make();
    await a.start();
    await a.stop();
    writeFileSync(
      join(path, 'LOCK'),
      JSON.stringify({ pid: 1, host: 'elsewhere.example', bootId: '', start: '', token: 'x' }),
    );
    await expect(make().start()).rejects.toThrow(StoreLockedError);
    unlinkSync(join(path, 'LOCK'));
  });

  it('treats a young unreadable lock as held and an old one as stale', async () => {
    await filled(1);
    writeFileSync(join(path, 'LOCK'), '');
    await expect(make().start()).rejects.toThrow(StoreLockedError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(path, 'LOCK'), old, old);
    const s = make();
    await s.start();
  });
});

describe('corruption found on open', () => {
  const data = (): string => join(path, 'data.mdb');

  it('reports a truncated data file and leaves the files as they were', async () => {
    await filled();
    const size = statSync(data()).size;
    truncateSync(data(), Math.floor(size / 2));
    await expectCorrupt(make(), 'truncated');
    expect(statSync(data()).size).toBe(Math.floor(size / 2));
    // The failed open released the lock: the same error again, not StoreLockedError.
    await expectCorrupt(make(), 'truncated');
  });

  it('reports a data file cut inside its header pages', async () => {
    await filled(10);
    const original = readFileSync(data());
    for (const size of [100, 4096, 4096 + 200]) {
      writeFileSync(data(), original.subarray(0, size));
      await expectCorrupt(make(), 'truncated');
    }
  });

  it('reports a missing or emptied data file instead of starting empty', async () => {
    await filled(10);
    truncateSync(data(), 0);
    await expectCorrupt(make(), 'missing-data');
    unlinkSync(data());
    await expectCorrupt(make(), 'missing-data');
  });

  it('reports a damaged header page', async () => {
    await filled(10);
    const fd = openSync(data(), 'r+');
    writeSync(fd, Buffer.alloc(4096, 0), 0, 4096, 0);
    closeSync(fd);
    await expectCorrupt(make(), 'bad-header');
  });

  it('reports a damaged or missing manifest', async () => {
    await filled(10);
    writeFileSync(join(path, 'STORE.json'), '{not json');
    await expectCorrupt(make(), 'bad-manifest');
    writeFileSync(join(path, 'STORE.json'), JSON.stringify({ format: 'detr-store', version: 99 }));
    await expectCorrupt(make(), 'bad-manifest');
    rmSync(join(path, 'STORE.json'));
    await expectCorrupt(make(), 'bad-manifest');
  });

  it("reports another store's data file", async () => {
    await filled(10);
    const other = join(dir.path, 'other');
    const o = make(other);
    await o.start();
    await o.stop();
    copyFileSync(join(other, 'data.mdb'), data());
    await expectCorrupt(make(), 'foreign-data');
  });
});

describe('corruption found on read', () => {
  it('reports a record whose bytes changed, on get and on scan', async () => {
    const marker = Buffer.from('MARKER-0123456789-abcdefghijklmnopqrstuvwxyz');
    const a = make();
    await a.start();
    await a.namespace('peers').put('victim', marker);
    await a.namespace('peers').put('other', b(1));
    await a.stop();
    const file = join(path, 'data.mdb');
    // lmdb copies pages on write, so old copies of the record may sit in free pages: flip all.
    const bytes = readFileSync(file);
    const fd = openSync(file, 'r+');
    let flipped = 0;
    for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + 1)) {
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, at + 10);
      one[0]! ^= 0x20;
      writeSync(fd, one, 0, 1, at + 10);
      flipped++;
    }
    closeSync(fd);
    expect(flipped).toBeGreaterThan(0);
    const c = make();
    await c.start();
    const ns = c.namespace('peers');
    expect(ns.get('other')).toEqual(b(1));
    let err: unknown;
    try {
      ns.get('victim');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreCorruptedError);
    expect((err as StoreCorruptedError).reason).toBe('bad-record');
    expect(() => [...ns.scan()]).toThrow(StoreCorruptedError);
  });
});
