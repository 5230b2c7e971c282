// Signaling through the DHT (seed 001: "candidate exchange via DHT records addressed to the
// peer"), for two peers that share no connection and no relay. Each peer has a mailbox record
// `/signal/<PeerId bytes>` that anyone may publish to (the record's `from` must be its signer);
// the newest record (highest seq) wins. A peer polls its own mailbox; a sender puts one Signal —
// an offer, answer or close carrying every candidate in its SDP (no trickle) — into the
// recipient's. A record overwritten before it is read is lost: the dialer times out and retries.
import type { AbortOptions, PeerId, SharedRecords } from '@detr/interface';
import { peerIdFromBytes } from '@detr/aecomms';
import { decodeSignal, encodeSignal, sameBytes, type SignalEnvelope } from './signal.js';

const PREFIX = Buffer.from('/signal/', 'latin1');

/** The DHT key namespace of signaling mailboxes (register {@link signalRecordValidator} for it). */
export const SIGNAL_NAMESPACE = 'signal';

/** Largest mailbox record value. */
export const MAX_SIGNAL_RECORD_BYTES = 20 * 1024;

/**
 * The mailbox key of `peer`: `/signal/` followed by its binary PeerId.
 *
 * @example
 * ```ts
 * await records.get(signalKey(self))
 * ```
 */
export function signalKey(peer: PeerId): Uint8Array {
  const key = new Uint8Array(PREFIX.length + peer.bytes.length);
  key.set(PREFIX, 0);
  key.set(peer.bytes, PREFIX.length);
  return key;
}

/** A mailbox record as a validator sees it. */
export interface SignalRecordView {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Ed25519 public key of the signer. */
  readonly publisher: Uint8Array;
}

/** The envelope of a mailbox record if it is valid for `key` and signed by its sender. */
export function openSignalRecord(record: SignalRecordView): SignalEnvelope | undefined {
  if (record.value.length > MAX_SIGNAL_RECORD_BYTES) return undefined;
  const k = record.key;
  if (k.length <= PREFIX.length || !sameBytes(k.subarray(0, PREFIX.length), PREFIX))
    return undefined;
  let e: SignalEnvelope;
  try {
    e = decodeSignal(record.value);
    const from = peerIdFromBytes(e.from);
    peerIdFromBytes(e.to);
    if (!sameBytes(from.publicKey, record.publisher)) return undefined;
  } catch {
    return undefined;
  }
  if (!sameBytes(e.to, k.subarray(PREFIX.length))) return undefined;
  if (e.body.kind !== 'offer' && e.body.kind !== 'answer' && e.body.kind !== 'close')
    return undefined;
  return e;
}

/**
 * The DHT validator of the `signal` namespace (the shape `@detr/dht`'s `validators` init takes):
 * the value is a Signal (offer, answer or close) addressed to the key's peer, sent by the record's
 * signer.
 *
 * @example
 * ```ts
 * createDht(components, { validators: { [SIGNAL_NAMESPACE]: signalRecordValidator } })
 * ```
 */
export const signalRecordValidator = {
  maxValueBytes: MAX_SIGNAL_RECORD_BYTES,
  validate(record: SignalRecordView): boolean {
    return openSignalRecord(record) !== undefined;
  },
};

/** One peer's view of the mailboxes. */
export interface DhtMailbox {
  /** Puts `e` into the mailbox of `to`. */
  send(to: PeerId, e: SignalEnvelope, options?: AbortOptions): Promise<void>;
  /** The newest record of our own mailbox, if it is new since the last call. */
  poll(options?: AbortOptions): Promise<SignalEnvelope | undefined>;
}

/**
 * A mailbox over shared records.
 *
 * @example
 * ```ts
 * const mailbox = createDhtMailbox(records, self, () => Date.now())
 * ```
 */
export function createDhtMailbox(
  records: SharedRecords,
  self: PeerId,
  now: () => number,
  ttlSec = 60,
): DhtMailbox {
  const own = signalKey(self);
  // Records from long before we started are stale (seq is the sender's clock in ms).
  let lastSeq = now() - 60_000;
  let lastPut = 0;
  return {
    async send(to, e, options = {}) {
      // Milliseconds as seq: the newest signal wins; strictly increasing for our own puts.
      lastPut = Math.max(now(), lastPut + 1);
      await records.put(signalKey(to), encodeSignal(e), {
        seq: lastPut,
        ttlSec,
        republish: false,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
    },
    async poll(options = {}) {
      const r = await records.get(own, options);
      if (r === undefined || r.seq <= lastSeq) return undefined;
      lastSeq = r.seq;
      return openSignalRecord({ key: own, value: r.value, publisher: r.publisher });
    },
  };
}
