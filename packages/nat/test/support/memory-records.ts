// A SharedRecords double (the DHT's records, in memory): newest seq wins, and the signal
// namespace's validator is applied as the DHT applies it. Every accepted put is logged.
import type { PeerId, SharedRecords } from '@detr/interface';
import { signalRecordValidator } from '../../src/signaling/dht.js';
import { decodeSignal } from '../../src/signaling/signal.js';

export interface LoggedPut {
  /** The mailbox owner (hex of the key after `/signal/`). */
  readonly key: string;
  readonly publisher: PeerId;
  readonly kind: string;
}

export function memoryRecords(): { as(publisher: PeerId): SharedRecords; log: LoggedPut[] } {
  const store = new Map<string, { value: Uint8Array; seq: number; publisher: Uint8Array }>();
  const log: LoggedPut[] = [];
  return {
    log,
    as: (publisher) => ({
      put(key, value, options = {}) {
        if (!signalRecordValidator.validate({ key, value, publisher: publisher.publicKey })) {
          return Promise.reject(new Error('invalid record'));
        }
        const k = Buffer.from(key).toString('hex');
        const seq = options.seq ?? Date.now();
        if ((store.get(k)?.seq ?? -1) >= seq) return Promise.reject(new Error('stale seq'));
        store.set(k, { value, seq, publisher: publisher.publicKey });
        log.push({ key: k, publisher, kind: decodeSignal(value).body.kind });
        return Promise.resolve();
      },
      get(key) {
        return Promise.resolve(store.get(Buffer.from(key).toString('hex')));
      },
    }),
  };
}
