// Structural checks of an lmdb data file, done in JavaScript before lmdb maps it. lmdb trusts its
// file: a truncated file makes reads fault (SIGBUS) and a damaged header page can crash the
// process (measured with lmdb 3.5.6: truncation to half → SIGBUS on the first read; a zeroed or
// garbage meta page → SIGSEGV on open). These checks turn those cases into a typed error.
//
// Layout read here (lmdb-js 3.x, LMDB 1.0 format, 64-bit little-endian): pages 0 and 1 are meta
// pages. Page header: pgno u64 @0, txnid u64 @8, pad u16 @16, flags u16 @18 (P_META = 0x08),
// lower/upper u16 @20/22. MDB_meta at 24: magic u32 @24 (0xBEEFC0DE), version u32 @28, address
// @32, mapsize @40, dbs[0] (free DB, 48 bytes) @48 whose pad u32 holds the page size, dbs[1]
// @96, last_pg u64 @144, txnid u64 @152. A healthy file is at least (last_pg + 1) pages long.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { arch, endianness } from 'node:os';
import { StoreCorruptedError } from '../errors.js';

const MAGIC = 0xbeefc0de;
const P_META = 0x08;

export interface MetaPage {
  pgno: number;
  version: number;
  pageSize: number;
  lastPage: number;
  txnId: number;
}

/** Reads one meta page from `buf` at `offset`; a string names what is wrong. */
export function readMeta(buf: Buffer, offset: number, expectPgno: number): MetaPage | string {
  if (buf.length < offset + 160) return 'header page is cut short';
  const pgno = Number(buf.readBigUInt64LE(offset));
  const flags = buf.readUInt16LE(offset + 18);
  const magic = buf.readUInt32LE(offset + 24);
  const version = buf.readUInt32LE(offset + 28);
  const pageSize = buf.readUInt32LE(offset + 48);
  const lastPage = Number(buf.readBigUInt64LE(offset + 144));
  const txnId = Number(buf.readBigUInt64LE(offset + 152));
  if (magic !== MAGIC) return `meta page ${expectPgno} has a bad magic number`;
  if (pgno !== expectPgno || (flags & P_META) === 0)
    return `meta page ${expectPgno} has a bad page header`;
  if (version < 1 || version > 2) return `meta page ${expectPgno} has unknown version ${version}`;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return `meta page ${expectPgno} has a bad page size ${pageSize}`;
  }
  if (lastPage < 1 || !Number.isSafeInteger(lastPage))
    return `meta page ${expectPgno} has a bad last page`;
  return { pgno, version, pageSize, lastPage, txnId };
}

/** True where the layout above applies (the check is skipped elsewhere). */
export const layoutKnown =
  endianness() === 'LE' &&
  ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(arch());

/**
 * Checks the data file's header pages and length.
 *
 * @returns the file size and the newest meta page
 * @throws {StoreCorruptedError} `truncated` or `bad-header`
 */
export function checkDataFile(file: string): { size: number; meta: MetaPage | undefined } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (!layoutKnown) return { size, meta: undefined };
    const head = Buffer.alloc(Math.min(size, 2 * 65536));
    readSync(fd, head, 0, head.length, 0);
    const m0 = readMeta(head, 0, 0);
    if (typeof m0 === 'string') {
      throw new StoreCorruptedError(
        file,
        size < 4096 ? 'truncated' : 'bad-header',
        `${m0} (file is ${size} bytes)`,
      );
    }
    if (size < 2 * m0.pageSize) {
      throw new StoreCorruptedError(
        file,
        'truncated',
        `file is ${size} bytes, shorter than its two header pages`,
      );
    }
    const m1 = readMeta(head, m0.pageSize, 1);
    if (typeof m1 === 'string') throw new StoreCorruptedError(file, 'bad-header', m1);
    if (m1.pageSize !== m0.pageSize)
      throw new StoreCorruptedError(file, 'bad-header', 'meta pages disagree on the page size');
    const newest = m1.txnId > m0.txnId ? m1 : m0;
    const needed = (Math.max(m0.lastPage, m1.lastPage) + 1) * m0.pageSize;
    if (size < needed) {
      throw new StoreCorruptedError(
        file,
        'truncated',
        `file is ${size} bytes but its header says ${needed} bytes are in use`,
      );
    }
    return { size, meta: newest };
  } finally {
    closeSync(fd);
  }
}
