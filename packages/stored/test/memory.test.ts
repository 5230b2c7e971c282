import { createMemoryStore, type Store } from '../src/index.js';
import { runStoreCompliance } from './suites/store-compliance.js';

const opened: Store[] = [];
runStoreCompliance({
  name: 'memory',
  async open(clock, init) {
    const store = createMemoryStore({ clock }, init);
    await store.start();
    opened.push(store);
    return store;
  },
  async cleanup() {
    await Promise.all(opened.splice(0).map((s) => s.stop()));
  },
});
