import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NotStartedError, systemClock } from '@detr/interface';
import { EXPIRY_TABLE, META_TABLE, nsTable } from '../backend.js';
import { createStoreCore, type StoreComponents, type StoreInit } from '../core.js';
import { StoreCorruptedError } from '../errors.js';
import { NAMESPACES, type Store } from '../types.js';
import { openLmdbBackend, type Durability, type LmdbBackend } from './backend.js';
import { checkDataFile } from './integrity.js';
import { acquireLock, type LockHandle } from './lock.js';
import { MANIFEST_FILE, newManifest, readManifest, writeManifest } from './manifest.js';

/** Options of the lmdb store. */
export interface LmdbStoreInit extends StoreInit {
  /** The store directory (created with mode 0700 if missing). */
  path: string;
  /**
   * When a write resolves: `'flushed'` once lmdb has synced it to disk (survives power loss),
   * `'committed'` once committed (survives a process crash, not necessarily power loss).
   * @default 'flushed'
   */
  durability?: Durability;
  /** Initial lmdb map size in bytes; lmdb grows it as needed. */
  mapSize?: number;
}

/** The lmdb store adds a hot backup. */
export interface LmdbStore extends Store {
  readonly path: string;
  /**
   * Writes a consistent copy of the store to `targetDir` (which must not hold a store), usable
   * as a store directory.
   *
   * @throws {NotStartedError} if the store is not started
   */
  backup(targetDir: string, options?: { compact?: boolean }): Promise<void>;
}

export const DATA_FILE = 'data.mdb';
const STORE_ID_KEY = Buffer.from('store-id');

function engineOpenError(dir: string, err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  if (/MDB_(INVALID|CORRUPTED|PAGE_NOTFOUND|VERSION_MISMATCH|PANIC)/.test(msg)) {
    throw new StoreCorruptedError(dir, 'bad-header', msg, { cause: err });
  }
  throw err;
}

/**
 * The default store: lmdb in `init.path`, exclusively locked, checked on open.
 *
 * Opening (in `start()`): takes the directory lock; reads STORE.json; for an initialized store
 * checks the data file's header pages and length, opens lmdb, and checks that the data file
 * holds the manifest's store id. A fresh directory is initialized in that same order.
 *
 * @throws {StoreLockedError} from `start()` when another live process holds the directory
 * @throws {StoreCorruptedError} from `start()` when the files are damaged (see `reason`)
 * @throws {RangeError} for bad options
 * @example
 * ```ts
 * const store = createLmdbStore({ clock }, { path: join(dataDir, 'store') })
 * await store.start()
 * const records = store.namespace('dht-records')
 * await records.put(key, recordBytes, { ttlMs: 36 * 3600_000 })
 * ```
 */
export function createLmdbStore(components: StoreComponents, init: LmdbStoreInit): LmdbStore {
  if (typeof init?.path !== 'string' || init.path === '') throw new TypeError('path is required');
  const dir = init.path;
  const durability = init.durability ?? 'flushed';
  if (durability !== 'flushed' && durability !== 'committed') {
    throw new RangeError(`durability must be 'flushed' or 'committed'`);
  }
  const clock = components.clock ?? systemClock;
  const names = [
    ...new Set([...NAMESPACES, ...(init.namespaces ?? []), ...(init.secretNamespaces ?? [])]),
  ];
  const tables = [META_TABLE, EXPIRY_TABLE, ...names.map(nsTable)];
  let lock: LockHandle | undefined;
  let lmdb: LmdbBackend | undefined;

  function openChecked(): LmdbBackend {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    lock = acquireLock(dir);
    try {
      const file = join(dir, DATA_FILE);
      let manifest = readManifest(dir);
      if (manifest === undefined) {
        if (existsSync(file) && statSync(file).size > 0) {
          throw new StoreCorruptedError(
            dir,
            'bad-manifest',
            `${DATA_FILE} exists without ${MANIFEST_FILE}`,
          );
        }
        manifest = newManifest(clock.now());
        writeManifest(dir, manifest);
      }
      if (manifest.initialized) {
        if (!existsSync(file) || statSync(file).size === 0) {
          throw new StoreCorruptedError(dir, 'missing-data', `${DATA_FILE} is missing or empty`);
        }
        checkDataFile(file);
      }
      let backend: LmdbBackend;
      try {
        backend = openLmdbBackend(dir, tables, { durability, mapSize: init.mapSize });
      } catch (err) {
        engineOpenError(dir, err);
      }
      try {
        const { lastPageNumber, pageSize } = backend.stats();
        const size = statSync(file).size;
        if ((lastPageNumber + 1) * pageSize > size) {
          throw new StoreCorruptedError(
            file,
            'truncated',
            `file is ${size} bytes, lmdb uses ${(lastPageNumber + 1) * pageSize}`,
          );
        }
        const id = backend.get(META_TABLE, STORE_ID_KEY);
        if (manifest.initialized) {
          if (id === undefined)
            throw new StoreCorruptedError(dir, 'missing-data', 'the data file has no store id');
          if (Buffer.from(id).toString('latin1') !== manifest.storeId) {
            throw new StoreCorruptedError(
              dir,
              'foreign-data',
              'the data file belongs to another store',
            );
          }
        }
      } catch (err) {
        void backend.close();
        throw err;
      }
      return Object.assign(backend, { pendingInit: manifest.initialized ? undefined : manifest });
    } catch (err) {
      lock.release();
      lock = undefined;
      throw err;
    }
  }

  const store = createStoreCore(components, init, {
    kind: 'lmdb',
    path: dir,
    async open() {
      const backend = openChecked() as LmdbBackend & {
        pendingInit?: ReturnType<typeof newManifest>;
      };
      const pending = backend.pendingInit;
      if (pending !== undefined) {
        try {
          await backend.transact((txn) =>
            txn.put(META_TABLE, STORE_ID_KEY, Buffer.from(pending.storeId, 'latin1')),
          );
          await backend.env.flushed;
          writeManifest(dir, { ...pending, initialized: true });
        } catch (err) {
          await backend.close();
          lock?.release();
          lock = undefined;
          throw err;
        }
      }
      lmdb = backend;
      return backend;
    },
    afterClose() {
      lmdb = undefined;
      lock?.release();
      lock = undefined;
    },
  });

  return Object.assign(store, {
    path: dir,
    async backup(targetDir: string, options: { compact?: boolean } = {}) {
      const b = lmdb;
      if (b === undefined) throw new NotStartedError('The store is not started');
      if (existsSync(join(targetDir, MANIFEST_FILE))) {
        throw new TypeError(`${targetDir} already holds a store`);
      }
      mkdirSync(targetDir, { recursive: true, mode: 0o700 });
      await b.backup(targetDir, options.compact === true);
      copyFileSync(join(dir, MANIFEST_FILE), join(targetDir, MANIFEST_FILE));
    },
  });
}

/**
 * Creates and starts an lmdb store.
 *
 * @throws {StoreLockedError} when another live process holds the directory
 * @throws {StoreCorruptedError} when the files are damaged
 * @example
 * ```ts
 * const store = await openLmdbStore({}, { path: '/var/lib/detr/store' })
 * ```
 */
export async function openLmdbStore(
  components: StoreComponents,
  init: LmdbStoreInit,
): Promise<LmdbStore> {
  const store = createLmdbStore(components, init);
  await store.start();
  return store;
}
