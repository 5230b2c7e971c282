// STORE.json: what the directory holds. Written (atomically: temp file, fsync, rename, fsync of
// the directory) before the data file exists, and marked `initialized` once the data file holds
// the store's id. A missing or empty data file under an initialized manifest is data loss, and is
// reported as such instead of being silently recreated.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StoreCorruptedError } from '../errors.js';

export const MANIFEST_FILE = 'STORE.json';
export const FORMAT = 'detr-store';
export const FORMAT_VERSION = 1;

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  /** Random id, also recorded inside the data file; the two must agree. */
  storeId: string;
  backend: 'lmdb';
  createdAtMs: number;
  /** True once the data file has been created and holds `storeId`. */
  initialized: boolean;
}

export function newManifest(nowMs: number): Manifest {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    storeId: randomBytes(16).toString('hex'),
    backend: 'lmdb',
    createdAtMs: nowMs,
    initialized: false,
  };
}

/** The manifest, or `undefined` if there is none. @throws {StoreCorruptedError} if unreadable */
export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch (err) {
    throw new StoreCorruptedError(path, 'bad-manifest', 'not JSON', { cause: err });
  }
  if (
    m === null ||
    typeof m !== 'object' ||
    m.format !== FORMAT ||
    typeof m.storeId !== 'string' ||
    !/^[0-9a-f]{32}$/.test(m.storeId) ||
    typeof m.initialized !== 'boolean' ||
    m.backend !== 'lmdb'
  ) {
    throw new StoreCorruptedError(path, 'bad-manifest', 'missing or malformed fields');
  }
  if (m.version !== FORMAT_VERSION) {
    throw new StoreCorruptedError(
      path,
      'bad-manifest',
      `unsupported format version ${String(m.version)}`,
    );
  }
  return m as Manifest;
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeManifest(dir: string, m: Manifest): void {
  const path = join(dir, MANIFEST_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(m, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}
