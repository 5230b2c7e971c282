import { createStoreCore } from './core.js';
import type { StoreComponents, StoreInit } from './options.js';
import { createMemoryBackend, createMemoryData } from './memory-backend.js';
import type { Store } from './types.js';

/**
 * A store held in memory, with the same contract as the lmdb store (it runs the same compliance
 * suite): for tests and for nodes that must leave nothing on disk. Data survives stop/start of
 * the same store object, not the process.
 *
 * @throws {RangeError} for bad options
 * @example
 * ```ts
 * const store = createMemoryStore({ clock: createManualClock() })
 * await store.start()
 * ```
 */
export function createMemoryStore(components: StoreComponents = {}, init: StoreInit = {}): Store {
  const data = createMemoryData();
  return createStoreCore(components, init, {
    kind: 'memory',
    path: '<memory>',
    open: () => Promise.resolve(createMemoryBackend(data)),
  });
}

/**
 * Creates and starts a memory store.
 *
 * @example
 * ```ts
 * const store = await openMemoryStore()
 * ```
 */
export async function openMemoryStore(
  components: StoreComponents = {},
  init: StoreInit = {},
): Promise<Store> {
  const store = createMemoryStore(components, init);
  await store.start();
  return store;
}
