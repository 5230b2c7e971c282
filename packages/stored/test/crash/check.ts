// Verifies a store written by the crash writer: every acknowledged batch is there and the store
// is exactly the state after batches 0..head (nothing partial, nothing corrupt).
import type { Store } from '../../src/index.js';
import { KEEP, decodeHead, recordKey, recordValue, records } from './workload.js';

export interface CheckResult {
  head: number;
  records: number;
  problems: string[];
}

export function checkStore(store: Store, lastAck: number): CheckResult {
  const problems: string[] = [];
  const outbox = store.namespace('outbox');
  const head = decodeHead(store.namespace('networks').get('head'));
  if (head < lastAck)
    problems.push(`head ${head} is behind the last acknowledged batch ${lastAck}`);
  if (head > lastAck + 1)
    problems.push(`head ${head} is more than one batch past the last ack ${lastAck}`);
  const expected = new Map<string, Uint8Array>();
  for (let i = Math.max(0, head - KEEP + 1); i <= head; i++) {
    for (let j = 0; j < records(i); j++) expected.set(recordKey(i, j), recordValue(i, j));
  }
  let n = 0;
  // scan() verifies every record's checksum and throws StoreCorruptedError on damage.
  for (const { key, value } of outbox.scan()) {
    n++;
    const k = Buffer.from(key).toString();
    const want = expected.get(k);
    if (want === undefined) problems.push(`unexpected record ${k}`);
    else if (!Buffer.from(value).equals(want)) problems.push(`record ${k} has the wrong value`);
    expected.delete(k);
    if (problems.length > 10) break;
  }
  for (const k of [...expected.keys()].slice(0, 10)) problems.push(`missing record ${k}`);
  return { head, records: n, problems };
}
