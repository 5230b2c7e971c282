// The options every store takes, their defaults and validation.
import type { Clock, Logger } from '@detr/interface';
import { NAMESPACES, SECRET_NAMESPACES } from './types.js';

/** Options shared by every store. */
export interface StoreInit {
  /** Largest number of records the cache holds; 0 disables it. @default 10000 */
  cacheMaxEntries?: number;
  /** Largest number of bytes (keys + values + 64 per entry) the cache holds. @default 16777216 */
  cacheMaxBytes?: number;
  /** Period of the automatic expiry sweep; 0 disables it. @default 60000 */
  sweepIntervalMs?: number;
  /** Records removed per sweep transaction. @default 1000 */
  sweepBatchSize?: number;
  /** Largest encoded value, in bytes. @default 4194304 */
  maxValueBytes?: number;
  /** Namespaces besides {@link NAMESPACES} (lower-case letters, digits, `-`; ≤ 31 chars). */
  namespaces?: readonly string[];
  /** Extra namespaces that, like `keys`, accept only sealed envelopes. */
  secretNamespaces?: readonly string[];
}

/** Injected dependencies of a store. */
export interface StoreComponents {
  /** Time for TTLs and the sweeper. @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
}

/**
 * The defaults of {@link StoreInit}; see the README's table.
 *
 * @example
 * ```ts
 * createMemoryStore({}, { cacheMaxEntries: STORE_DEFAULTS.cacheMaxEntries * 2 })
 * ```
 */
export const STORE_DEFAULTS = {
  cacheMaxEntries: 10_000,
  cacheMaxBytes: 16 * 1024 * 1024,
  sweepIntervalMs: 60_000,
  sweepBatchSize: 1000,
  maxValueBytes: 4 * 1024 * 1024,
} as const;

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

function nonNegInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
  return x;
}

/** Validated options with the namespace sets they imply. */
export interface ResolvedOptions {
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  sweepIntervalMs: number;
  sweepBatchSize: number;
  maxValueBytes: number;
  names: Set<string>;
  secrets: Set<string>;
  /** Namespace names as bytes, for expiry-index keys. */
  nsBytes: Map<string, Uint8Array>;
}

/** @throws {RangeError} for an option out of range or a bad namespace name */
export function resolveOptions(init: StoreInit): ResolvedOptions {
  const d = STORE_DEFAULTS;
  const sweepBatchSize = nonNegInt('sweepBatchSize', init.sweepBatchSize, d.sweepBatchSize);
  if (sweepBatchSize === 0) throw new RangeError('sweepBatchSize must be at least 1');
  const names = new Set<string>(NAMESPACES);
  for (const n of [...(init.namespaces ?? []), ...(init.secretNamespaces ?? [])]) {
    if (typeof n !== 'string' || !NAME.test(n)) {
      throw new RangeError(`Bad namespace name ${JSON.stringify(n)}`);
    }
    names.add(n);
  }
  return {
    cacheMaxEntries: nonNegInt('cacheMaxEntries', init.cacheMaxEntries, d.cacheMaxEntries),
    cacheMaxBytes: nonNegInt('cacheMaxBytes', init.cacheMaxBytes, d.cacheMaxBytes),
    sweepIntervalMs: nonNegInt('sweepIntervalMs', init.sweepIntervalMs, d.sweepIntervalMs),
    sweepBatchSize,
    maxValueBytes: nonNegInt('maxValueBytes', init.maxValueBytes, d.maxValueBytes),
    names,
    secrets: new Set<string>([...SECRET_NAMESPACES, ...(init.secretNamespaces ?? [])]),
    nsBytes: new Map([...names].map((n) => [n, Buffer.from(n, 'latin1')])),
  };
}
