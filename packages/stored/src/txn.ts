// The bodies of the store's write transactions, run by a backend inside one atomic transaction.
// Each reads before it writes, so a throw leaves nothing half-written.
import { EXPIRY_TABLE, nsTable, type BackendTxn } from './backend.js';
import { UnsealedSecretError } from './errors.js';
import { keyBytes } from './keys.js';
import {
  encodeRecord,
  expiryIndexKey,
  expiryIndexUntil,
  MAX_EXPIRY_MS,
  parseExpiryIndexKey,
  recordExpiry,
} from './record.js';
import { parseEnvelope } from './sealed.js';
import type { Codec, KeyLike, PutOptions } from './types.js';

/** One write of a batch, already encoded and validated. */
export interface Op {
  kind: 'put' | 'del';
  ns: string;
  key: Uint8Array;
  /** Stored bytes (record header + value) for a put. */
  stored?: Uint8Array;
  expiresAtMs?: number | undefined;
}

/**
 * Encodes and validates a put, synchronously, before anything is queued.
 *
 * @throws {TypeError} for a bad key, a codec that returns no bytes, or both TTL options
 * @throws {RangeError} for an empty or long key, a value over `maxValueBytes`, a bad TTL
 * @throws {UnsealedSecretError} for a non-envelope in a secrets namespace
 */
export function preparePut<V>(
  ns: string,
  codec: Codec<V>,
  key: KeyLike,
  value: V,
  opts: PutOptions,
  ctx: { nowMs: number; maxValueBytes: number; secrets: ReadonlySet<string> },
): Op {
  const k = keyBytes(key);
  const bytes = codec.encode(value);
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(`Codec ${codec.name} did not return bytes`);
  if (bytes.length > ctx.maxValueBytes) {
    throw new RangeError(
      `Value of ${bytes.length} bytes exceeds maxValueBytes ${ctx.maxValueBytes}`,
    );
  }
  if (ctx.secrets.has(ns)) {
    const why = parseEnvelope(bytes);
    if (typeof why === 'string') throw new UnsealedSecretError(ns, why);
  }
  let exp: number | undefined;
  if (opts.ttlMs !== undefined && opts.expiresAtMs !== undefined) {
    throw new TypeError('Give ttlMs or expiresAtMs, not both');
  }
  if (opts.ttlMs !== undefined) {
    if (!Number.isFinite(opts.ttlMs) || opts.ttlMs <= 0) {
      throw new RangeError('ttlMs must be a positive number');
    }
    exp = Math.ceil(ctx.nowMs + opts.ttlMs);
  } else if (opts.expiresAtMs !== undefined) {
    if (!Number.isFinite(opts.expiresAtMs) || opts.expiresAtMs <= 0) {
      throw new RangeError('expiresAtMs must be a positive time');
    }
    exp = Math.ceil(opts.expiresAtMs);
  }
  if (exp !== undefined && exp > MAX_EXPIRY_MS)
    throw new RangeError('expiry too far in the future');
  return { kind: 'put', ns, key: k, stored: encodeRecord(k, bytes, exp), expiresAtMs: exp };
}

const expired = (exp: number | undefined, now: number): boolean => exp !== undefined && exp <= now;

/**
 * Applies a batch in order, keeping the expiry index exact (an overwrite or delete removes the old
 * record's index key). Each op reads the key's current record first, so a later op on a key the
 * batch already wrote sees that write. If anything throws, the backend rolls the whole
 * transaction back (lmdb child transaction; the memory backend's undo log). Returns, per op,
 * true for a put, and for a delete whether a live record was removed.
 */
export function applyOps(
  txn: BackendTxn,
  ops: readonly Op[],
  nsBytes: ReadonlyMap<string, Uint8Array>,
  now: number,
): boolean[] {
  const out = new Array<boolean>(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Op;
    const table = nsTable(op.ns);
    // Transient bytes: take the expiry at once.
    const old = txn.get(table, op.key);
    const oldExp = old === undefined ? undefined : recordExpiry(old);
    if (oldExp !== undefined) {
      txn.del(EXPIRY_TABLE, expiryIndexKey(oldExp, nsBytes.get(op.ns) as Uint8Array, op.key));
    }
    if (op.kind === 'put') {
      txn.put(table, op.key, op.stored as Uint8Array);
      if (op.expiresAtMs !== undefined) {
        const ik = expiryIndexKey(op.expiresAtMs, nsBytes.get(op.ns) as Uint8Array, op.key);
        txn.put(EXPIRY_TABLE, ik, EMPTY);
      }
      out[i] = true;
    } else if (old === undefined) {
      out[i] = false;
    } else {
      txn.del(table, op.key);
      out[i] = !expired(oldExp, now);
    }
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** Deletes every record of a namespace and their index entries; returns how many. */
export function clearNamespace(txn: BackendTxn, ns: string, nsb: Uint8Array): number {
  const table = nsTable(ns);
  const all = [...txn.range(table, {})];
  for (const [key, stored] of all) {
    const exp = recordExpiry(stored);
    if (exp !== undefined) txn.del(EXPIRY_TABLE, expiryIndexKey(exp, nsb, key));
    txn.del(table, key);
  }
  return all.length;
}

/**
 * Deletes up to `limit` records due at `now`, reading only the due part of the expiry index.
 * An index entry whose record changed since (other expiry, or gone) is dropped on its own.
 */
export function sweepDue(
  txn: BackendTxn,
  now: number,
  limit: number,
  names: ReadonlySet<string>,
): Array<[string, Uint8Array]> {
  const due = [...txn.range(EXPIRY_TABLE, { lt: expiryIndexUntil(now), limit })];
  const out: Array<[string, Uint8Array]> = [];
  for (const [ik] of due) {
    const parsed = parseExpiryIndexKey(ik);
    txn.del(EXPIRY_TABLE, ik);
    if (parsed === undefined || !names.has(parsed.ns)) continue;
    const table = nsTable(parsed.ns);
    const stored = txn.get(table, parsed.key);
    if (stored !== undefined && recordExpiry(stored) === parsed.expiresAtMs) {
      txn.del(table, parsed.key);
      out.push([parsed.ns, parsed.key]);
    }
  }
  return out;
}
