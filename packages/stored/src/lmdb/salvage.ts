// The recovery path for a damaged store: copy every intact record into a fresh store and report
// exactly what could not be copied. The damaged directory is only read, never changed.
//
// lmdb trusts its file, and some damage makes it fault or abort the process (a truncated file →
// SIGBUS; a zeroed B-tree page → an assertion abort). So the damaged file is read in a child
// process, on a private copy that is first made safe to map: extended with zeros to the length its
// header claims, and with a damaged header page replaced by the other (older) one. Each namespace
// is read forwards; if the child dies or lmdb reports damage part-way, a second child reads it
// backwards from the end down to the last key the first one delivered, so a single bad page
// costs only the records on it. Every record's checksum is checked before it is copied.
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { throwIfAborted, type AbortOptions } from '@detr/interface';
import { nsTable } from '../backend.js';
import { compareBytes } from '../keys.js';
import { decodeRecord } from '../record.js';
import { NAMESPACES, type Store } from '../types.js';
import { readMeta } from './integrity.js';
import { MANIFEST_FILE } from './manifest.js';
import { readTables, type Pass } from './salvage-reader.js';
import { DATA_FILE, createLmdbStore } from './store.js';

/** What {@link salvageStore} did. */
export interface SalvageReport {
  /** Records copied, per namespace. */
  copied: Record<string, number>;
  /** Records found but dropped because their checksum or header was wrong. */
  damagedRecords: number;
  /** Records dropped because they had already expired. */
  expiredRecords: number;
  /** Key ranges that could not be read (records there, if any, are lost). */
  gaps: Array<{
    namespace: string;
    after: string | undefined;
    before: string | undefined;
    reason: string;
  }>;
  /** A damaged header page was replaced by the older one (the last transactions are lost). */
  headerRepaired: boolean;
  /** Bytes the data file was short of its claimed length (filled with zeros in the copy). */
  missingBytes: number;
}

/** Makes the private copy safe to map. */
function prepareCopy(file: string): { headerRepaired: boolean; missingBytes: number } {
  const size = statSync(file).size;
  const head = Buffer.alloc(Math.min(Math.max(size, 0), 2 * 65536));
  const fd = openSync(file, 'r+');
  try {
    readSync(fd, head, 0, head.length, 0);
    let m0 = readMeta(head, 0, 0);
    const pageSize = typeof m0 === 'string' ? 4096 : m0.pageSize;
    const m1 = head.length >= 2 * pageSize ? readMeta(head, pageSize, 1) : 'cut short';
    let headerRepaired = false;
    if (typeof m0 === 'string' && typeof m1 !== 'string') {
      // Rebuild page 0 from page 1 (same layout, page number 0).
      const page = Buffer.from(head.subarray(pageSize, 2 * pageSize));
      page.writeBigUInt64LE(0n, 0);
      writeSync(fd, page, 0, pageSize, 0);
      m0 = readMeta(page, 0, 0);
      headerRepaired = true;
    } else if (typeof m1 === 'string' && typeof m0 !== 'string') {
      const page = Buffer.from(head.subarray(0, pageSize));
      page.writeBigUInt64LE(1n, 0);
      writeSync(fd, page, 0, pageSize, pageSize);
      headerRepaired = true;
    }
    if (typeof m0 === 'string')
      throw new Error(`both header pages are damaged (${m0}); restore a backup`);
    const m1b = typeof m1 === 'string' ? m0 : m1;
    const needed = (Math.max(m0.lastPage, m1b.lastPage) + 1) * pageSize;
    const missingBytes = Math.max(0, needed - size);
    closeSync(fd);
    if (missingBytes > 0) truncateSync(file, needed);
    return { headerRepaired, missingBytes };
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    throw err;
  }
}

/**
 * Copies every intact record of the (damaged) store in `fromDir` into a new store in `toDir`.
 * `fromDir` is not modified. Expired records are not copied.
 *
 * @throws {TypeError} if `toDir` already holds files
 * @throws {Error} if no header page of the source is readable (restore a backup instead)
 * @throws {AbortError} when `options.signal` aborts (`toDir` then holds a partial store: remove it)
 * @example
 * ```ts
 * // after StoreCorruptedError: stop the node, move the directory aside, then
 * const report = await salvageStore('/var/lib/detr/store.damaged', '/var/lib/detr/store')
 * console.log(report.copied, report.gaps)
 * ```
 */
export async function salvageStore(
  fromDir: string,
  toDir: string,
  options: { namespaces?: readonly string[]; nowMs?: number } & AbortOptions = {},
): Promise<SalvageReport> {
  throwIfAborted(options.signal);
  if (existsSync(toDir) && readdirSync(toDir).length > 0)
    throw new TypeError(`${toDir} is not empty`);
  const src = join(fromDir, DATA_FILE);
  if (!existsSync(src)) throw new Error(`${src} does not exist; restore a backup`);
  const work = mkdtempSync(join(tmpdir(), 'detr-salvage-'));
  const report: SalvageReport = {
    copied: {},
    damagedRecords: 0,
    expiredRecords: 0,
    gaps: [],
    headerRepaired: false,
    missingBytes: 0,
  };
  let target: Store | undefined;
  try {
    copyFileSync(src, join(work, DATA_FILE));
    Object.assign(report, prepareCopy(join(work, DATA_FILE)));
    const lmdbUrl = pathToFileURL(createRequire(import.meta.url).resolve('lmdb')).href;
    const names = [...new Set([...NAMESPACES, ...(options.namespaces ?? [])])];
    target = createLmdbStore(
      {},
      { path: toDir, sweepIntervalMs: 0, cacheMaxEntries: 0, namespaces: options.namespaces ?? [] },
    );
    await target.start();
    const now = options.nowMs ?? Date.now();
    const tables = names.map(nsTable);
    const forward = new Map<string, Pass>();
    for (let rest = tables; rest.length > 0;) {
      const got = await readTables(lmdbUrl, work, 'fwd', undefined, rest, options.signal);
      for (const [t, p] of got) forward.set(t, p);
      rest = rest.filter((t) => !forward.has(t));
    }
    for (const ns of names) {
      throwIfAborted(options.signal);
      const fwd = forward.get(nsTable(ns)) as Pass;
      let records = fwd.records;
      if (fwd.error !== undefined) {
        if (/MDB_NOTFOUND/.test(fwd.error) && fwd.records.length === 0) continue; // never created
        const last = fwd.records.at(-1)?.[0];
        const rev = (
          await readTables(lmdbUrl, work, 'rev', last, [nsTable(ns)], options.signal)
        ).get(nsTable(ns)) as Pass;
        const first = rev.records.at(-1)?.[0];
        records = [...fwd.records, ...rev.records.reverse()];
        report.gaps.push({
          namespace: ns,
          after: last === undefined ? undefined : Buffer.from(last).toString('hex'),
          before:
            rev.error === undefined
              ? first === undefined
                ? undefined
                : Buffer.from(first).toString('hex')
              : undefined,
          reason:
            rev.error === undefined ? fwd.error : `${fwd.error}; reading backwards: ${rev.error}`,
        });
      }
      records.sort((x, y) => compareBytes(x[0], y[0]));
      const handle = target.namespace(ns);
      let batch = target.batch();
      let copied = 0;
      for (const [key, stored] of records) {
        const rec = decodeRecord(key, stored);
        if (typeof rec === 'string') {
          report.damagedRecords++;
          continue;
        }
        if (rec.expiresAtMs !== undefined && rec.expiresAtMs <= now) {
          report.expiredRecords++;
          continue;
        }
        try {
          batch.put(
            handle,
            key,
            rec.value,
            rec.expiresAtMs === undefined ? {} : { expiresAtMs: rec.expiresAtMs },
          );
        } catch {
          report.damagedRecords++; // e.g. a sealed-namespace record that is not an envelope
          continue;
        }
        copied++;
        if (batch.size >= 1000) {
          await batch.commit();
          batch = target.batch();
        }
      }
      await batch.commit();
      if (copied > 0) report.copied[ns] = copied;
    }
    await target.stop();
    target = undefined;
    if (!existsSync(join(toDir, MANIFEST_FILE))) throw new Error('salvage did not produce a store');
    return report;
  } finally {
    await target?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
