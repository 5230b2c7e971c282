import { join } from 'node:path';
import { createLmdbStore, type Store } from '../src/index.js';
import { runStoreCompliance } from './suites/store-compliance.js';
import { tempDir } from './support/tmp.js';

const opened: Array<{ store: Store; remove(): void }> = [];
runStoreCompliance({
  name: 'lmdb',
  async open(clock, init) {
    const dir = tempDir();
    const store = createLmdbStore({ clock }, { ...init, path: join(dir.path, 'store') });
    opened.push({ store, remove: dir.remove });
    await store.start();
    return store;
  },
  async cleanup() {
    for (const { store, remove } of opened.splice(0)) {
      await store.stop();
      remove();
    }
  },
});
