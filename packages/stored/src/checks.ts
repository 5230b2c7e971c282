// Turning what the engine reports into the store's errors: lmdb's corruption codes and records
// whose header or checksum is wrong become a StoreCorruptedError naming the store's path.
import { StoreCorruptedError } from './errors.js';
import { decodeRecord, type RawRecord } from './record.js';

/** Rethrows `err`, as a StoreCorruptedError when the engine reports corruption. */
export function rethrowEngineError(path: string, err: unknown): never {
  if (err instanceof StoreCorruptedError) throw err;
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (/MDB_(CORRUPTED|PAGE_NOTFOUND|INVALID|BAD_TXN|PANIC)/.test(msg)) {
    throw new StoreCorruptedError(path, 'engine', msg, { cause: err });
  }
  throw err;
}

/**
 * The record stored under `key`, checked.
 *
 * @throws {StoreCorruptedError} when its header or checksum is wrong
 */
export function checkedRecord(
  path: string,
  ns: string,
  key: Uint8Array,
  stored: Uint8Array,
): RawRecord {
  const rec = decodeRecord(key, stored);
  if (typeof rec === 'string') {
    throw new StoreCorruptedError(
      path,
      'bad-record',
      `${rec} (namespace "${ns}", key ${Buffer.from(key).toString('hex').slice(0, 64)})`,
    );
  }
  return rec;
}
