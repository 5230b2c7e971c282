// The documented recovery path: salvageStore copies every intact record of a damaged store into a
// fresh one and reports what was lost; the damaged directory is left untouched.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { AbortError } from '@detr/interface';
import {
  createLmdbStore,
  salvageStore,
  StoreCorruptedError,
  type LmdbStore,
} from '../src/index.js';
import { tempDir } from './support/tmp.js';

let dir: { path: string; remove(): void };
let from: string;
let to: string;
const N = 3000;
const value = (i: number): Uint8Array =>
  new Uint8Array(120).fill(i & 0xff).map((x, j) => (j < 4 ? (i >> (8 * j)) & 0xff : x));
const key = (i: number): string => `rec/${String(i).padStart(6, '0')}`;

beforeEach(async () => {
  dir = tempDir('detr-salvage-test-');
  from = join(dir.path, 'damaged');
  to = join(dir.path, 'salvaged');
  const s = createLmdbStore({}, { path: from, sweepIntervalMs: 0 });
  await s.start();
  const ns = s.namespace('dht-records');
  const batch = s.batch();
  for (let i = 0; i < N; i++) batch.put(ns, key(i), value(i));
  batch.put(s.namespace('peers'), 'peer', new Uint8Array([1, 2, 3]));
  batch.put(s.namespace('tokens'), 'old', new Uint8Array([1]), { expiresAtMs: 1000 });
  await batch.commit();
  await s.stop();
});
afterEach(() => dir.remove());

async function openSalvaged(): Promise<LmdbStore> {
  const s = createLmdbStore({}, { path: to, sweepIntervalMs: 0 });
  await s.start();
  return s;
}

function checkCopied(s: LmdbStore): number {
  let n = 0;
  for (const { key: k, value: v } of s.namespace('dht-records').scan()) {
    const i = Number(Buffer.from(k).toString().slice(4));
    expect(v).toEqual(value(i));
    n++;
  }
  return n;
}

const dataFile = (): string => join(from, 'data.mdb');

describe('salvageStore', () => {
  it('copies a healthy store completely', async () => {
    const report = await salvageStore(from, to);
    expect(report).toMatchObject({
      damagedRecords: 0,
      gaps: [],
      headerRepaired: false,
      missingBytes: 0,
    });
    expect(report.copied).toEqual({ 'dht-records': N, peers: 1 });
    expect(report.expiredRecords).toBe(1);
    const s = await openSalvaged();
    expect(checkCopied(s)).toBe(N);
    expect(s.namespace('peers').get('peer')).toEqual(new Uint8Array([1, 2, 3]));
    await s.stop();
    await expect(salvageStore(from, to)).rejects.toThrow(TypeError);
  });

  // lmdb writes copy-on-write, so the newest B-tree root and branch pages sit near the end of the
  // file: a cut there can leave no record reachable. Salvage must then say so, not pretend.
  it('reports the loss in a truncated file, copies only intact records, leaves the source as it was', async () => {
    const size = statSync(dataFile()).size;
    truncateSync(dataFile(), Math.floor(size * 0.6));
    const before = readFileSync(dataFile());
    const report = await salvageStore(from, to);
    expect(readFileSync(dataFile()).equals(before)).toBe(true);
    expect(report.missingBytes).toBeGreaterThan(0);
    const s = await openSalvaged();
    const copied = checkCopied(s);
    await s.stop();
    expect(copied + report.damagedRecords).toBeLessThanOrEqual(N);
    expect(copied).toBeLessThan(N);
    expect(report.gaps.length).toBeGreaterThan(0);
    expect(report.gaps.map((g) => g.namespace)).toContain('dht-records');
  }, 60_000);

  it('reads around a zeroed B-tree page that makes lmdb abort', async () => {
    const pages = statSync(dataFile()).size / 4096;
    const fd = openSync(dataFile(), 'r+');
    writeSync(fd, Buffer.alloc(4096, 0), 0, 4096, Math.floor(pages / 2) * 4096);
    closeSync(fd);
    const report = await salvageStore(from, to);
    const s = await openSalvaged();
    const copied = checkCopied(s);
    await s.stop();
    // One leaf page holds ~30 records of this size: nearly everything survives.
    expect(copied).toBeGreaterThan(N - 200);
    expect(copied).toBeLessThan(N);
    expect(report.gaps).toHaveLength(1);
    expect(report.gaps[0]?.namespace).toBe('dht-records');
  }, 60_000);

  it('drops records whose checksum fails and rebuilds a damaged header page from the other', async () => {
    const fd = openSync(dataFile(), 'r+');
    // Damage the first record's value bytes (every copy) and header page 0.
    const bytes = readFileSync(dataFile());
    const marker = Buffer.from(value(7));
    for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + 1)) {
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, at + 50);
      one[0]! ^= 0xff;
      writeSync(fd, one, 0, 1, at + 50);
    }
    writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, 0);
    closeSync(fd);
    const err = await createLmdbStore({}, { path: from })
      .start()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptedError);
    const report = await salvageStore(from, to);
    expect(report.headerRepaired).toBe(true);
    const s = await openSalvaged();
    const copied = checkCopied(s);
    await s.stop();
    // Page 1 is the older header: it may predate the fill entirely (then nothing is there).
    expect(copied + report.damagedRecords).toBeLessThanOrEqual(N);
    if (copied > 0) expect(report.damagedRecords).toBe(1);
  }, 60_000);

  it('stops when its signal aborts, killing its reader', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(salvageStore(from, to, { signal: ac.signal })).rejects.toThrow(AbortError);
    const later = new AbortController();
    const run = salvageStore(from, join(dir.path, 'other'), { signal: later.signal });
    setTimeout(() => later.abort(), 50);
    await expect(run).rejects.toThrow(AbortError);
  }, 60_000);
});
