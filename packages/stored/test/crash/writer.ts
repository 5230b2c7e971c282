// Child process of the crash test: writes acknowledged batches in a loop until killed.
// `ready <head>` once open; `ack <i>` after batch i's commit resolved (durable).
// stdout is a pipe, which Node writes synchronously on Linux, so a printed ack was handed to the
// parent before the next batch starts.
import { createLmdbStore } from '../../src/index.js';
import { KEEP, decodeHead, encodeHead, recordKey, recordValue, records } from './workload.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: writer.ts <store dir>');
const store = createLmdbStore({}, { path: dir, sweepIntervalMs: 0, cacheMaxEntries: 0 });
await store.start();
const outbox = store.namespace('outbox');
const meta = store.namespace('networks');
const head = decodeHead(meta.get('head'));
process.stdout.write(`ready ${head}\n`);
for (let i = head + 1; ; i++) {
  const batch = store.batch();
  for (let j = 0; j < records(i); j++) {
    batch.put(
      outbox,
      recordKey(i, j),
      recordValue(i, j),
      j === 0 && i % 3 === 0 ? { ttlMs: 1e12 } : {},
    );
  }
  const old = i - KEEP;
  if (old >= 0) for (let j = 0; j < records(old); j++) batch.delete(outbox, recordKey(old, j));
  batch.put(meta, 'head', encodeHead(i));
  await batch.commit();
  process.stdout.write(`ack ${i}\n`);
}
