import { DetrError } from '@detr/interface';

/**
 * Another process (or another open store in this process) holds the store directory's lock.
 * Two writers on one directory could corrupt it, so the second open is refused.
 *
 * @example
 * ```ts
 * try { await store.start() } catch (err) {
 *   if (err instanceof StoreLockedError) console.error(`in use by pid ${err.holderPid}`)
 * }
 * ```
 */
export class StoreLockedError extends DetrError {
  /** The pid recorded by the holder, when readable. */
  readonly holderPid: number | undefined;
  /** The lock file. */
  readonly lockPath: string;

  constructor(lockPath: string, holderPid: number | undefined, detail = '') {
    super(
      `Store is locked by ${holderPid === undefined ? 'another process' : `pid ${holderPid}`}` +
        ` (${lockPath})${detail === '' ? '' : `: ${detail}`}`,
      'STORE_LOCKED',
    );
    this.name = 'StoreLockedError';
    this.holderPid = holderPid;
    this.lockPath = lockPath;
  }
}

/** Why a store was found corrupt. */
export type CorruptionReason =
  /** The data file is shorter than the pages its header says are in use. */
  | 'truncated'
  /** A header (meta) page is unreadable: bad magic, version or page size. */
  | 'bad-header'
  /** The manifest says data was written, but the data file is missing or empty. */
  | 'missing-data'
  /** The data file belongs to another store (its store id differs from the manifest's). */
  | 'foreign-data'
  /** The manifest file is unreadable. */
  | 'bad-manifest'
  /** A record failed its checksum or has a malformed header. */
  | 'bad-record'
  /** The database engine reported a damaged page while reading. */
  | 'engine';

/** The documented recovery path, carried by every {@link StoreCorruptedError}. */
export const RECOVERY_STEPS =
  'Stop the node; move the store directory aside (never delete it); run salvageStore(<moved dir>, ' +
  '<store dir>) to copy every intact record into a fresh store (it reports what was lost), or ' +
  'restore a backup made with store.backup(); then start again. See @detr/stored README, "Recovery".';

/**
 * The store's files are damaged. Raised on open (structural checks) and on read (checksums and
 * engine errors); the store never drops or rewrites damaged data silently.
 *
 * @example
 * ```ts
 * try { await store.start() } catch (err) {
 *   if (err instanceof StoreCorruptedError) log.error({ reason: err.reason }, err.recovery)
 * }
 * ```
 */
export class StoreCorruptedError extends DetrError {
  readonly reason: CorruptionReason;
  /** What to do about it; see {@link RECOVERY_STEPS}. */
  readonly recovery = RECOVERY_STEPS;
  /** The store directory or file concerned. */
  readonly path: string;

  constructor(
    path: string,
    reason: CorruptionReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Store ${path} is corrupt (${reason}): ${detail}. ${RECOVERY_STEPS}`,
      'STORE_CORRUPTED',
      options,
    );
    this.name = 'StoreCorruptedError';
    this.reason = reason;
    this.path = path;
  }
}

/**
 * A stored value passed its checksum but its namespace's codec could not decode it: the
 * namespace was opened with a different codec than the one that wrote it.
 *
 * @example
 * ```ts
 * if (err instanceof StoreDecodeError) log.warn({ ns: err.namespace }, 'codec mismatch')
 * ```
 */
export class StoreDecodeError extends DetrError {
  readonly namespace: string;

  constructor(namespace: string, options?: { cause?: unknown }) {
    super(`A value in namespace "${namespace}" could not be decoded`, 'STORE_DECODE', options);
    this.name = 'StoreDecodeError';
    this.namespace = namespace;
  }
}

/**
 * Something other than a sealed envelope was written to a secrets namespace (`keys`). Nothing
 * was written.
 *
 * @example
 * ```ts
 * await keys.put('identity', await sealSecret(privateKey, passphrase)) // not the raw key
 * ```
 */
export class UnsealedSecretError extends DetrError {
  readonly namespace: string;

  constructor(namespace: string, why: string) {
    super(
      `Namespace "${namespace}" only stores sealed envelopes (see sealSecret): ${why}`,
      'UNSEALED_SECRET',
    );
    this.name = 'UnsealedSecretError';
    this.namespace = namespace;
  }
}

/**
 * A sealed envelope could not be opened: wrong passphrase or key, or tampered/corrupt envelope.
 * Deliberately one error for all of these (no oracle).
 *
 * @example
 * ```ts
 * try { key = await openSecret(envelope, passphrase) } catch (err) {
 *   if (err instanceof SecretOpenError) prompt('wrong passphrase?')
 * }
 * ```
 */
export class SecretOpenError extends DetrError {
  constructor() {
    super('The sealed secret could not be opened', 'SECRET_OPEN_FAILED');
    this.name = 'SecretOpenError';
  }
}
