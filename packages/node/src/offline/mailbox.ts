// Offline mailboxes in @detr/dht (seed 001). A message for a peer that cannot be reached is sealed
// to the peer's key (seal.ts) and put as a DHT record in the node-defined namespace `mbox`:
//
//   key   = "/mbox/" ‖ recipient PeerId (33 bytes) ‖ slot (1 byte, < MAILBOX_SLOTS)
//   value = OfflineMessage (sealed), signed by its sender   — or empty: a tombstone
//
// The namespace validator (`mailboxValidator`), run by every DHT node that holds or returns such a
// record, accepts:
//   - a message: value ≤ maxBytes, TTL ≤ maxTtlSec, an OfflineMessage addressed to the key's
//     recipient whose sender is the record's signer, in one of the sender's own slots
//     (`senderSlots`: SLOTS_PER_SENDER of the MAILBOX_SLOTS, chosen by a hash of sender and
//     recipient) — the per-peer quota: one sender can fill at most that many of a mailbox's slots,
//     and a recipient holds at most MAILBOX_SLOTS messages at once;
//   - a tombstone: an empty value signed by the key's recipient. Deletion = the recipient puts the
//     tombstone with seq = the message's seq + 1, so the DHT's seq rule replaces the message
//     everywhere (holders of the old seq get the newer record on the next get). Only the recipient
//     can sign it. A sender writes a new message over a tombstone with a newer seq (its clock in
//     ms), which frees slots without any other protocol.
// Each message id is delivered once: ids are persisted in the store until the message expires, so a
// copy that reappears (a holder that missed the tombstone) is recognised and deleted again.
import { createHash } from 'node:crypto';
import type { AbortOptions, PeerId } from '@detr/interface';
import { peerIdFromBytes, type Identity } from '@detr/aecomms';
import { OfflineMessage } from '@detr/protocol';
import type { Namespace, Store } from '@detr/stored';
import { openOffline, sealOffline, type OpenedOffline } from './seal.js';

/** The DHT namespace of offline mailboxes. */
export const MAILBOX_NAMESPACE = 'mbox';
/** Slots per recipient: the most messages waiting for one peer at once. */
export const MAILBOX_SLOTS = 8;
/** Slots of a recipient's mailbox one sender may write. */
export const SLOTS_PER_SENDER = 2;

const PREFIX = Buffer.from('/mbox/', 'latin1');
const PEER_BYTES = 33;

/**
 * The key of `recipient`'s mailbox slot `slot`.
 *
 * @throws {RangeError} for a slot outside [0, MAILBOX_SLOTS)
 * @example
 * ```ts
 * await dht.get(mailboxKey(self, 0))
 * ```
 */
export function mailboxKey(recipient: PeerId, slot: number): Uint8Array {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAILBOX_SLOTS)
    throw new RangeError('no such mailbox slot');
  return new Uint8Array(Buffer.concat([PREFIX, recipient.bytes, Buffer.from([slot])]));
}

/**
 * The slots of `recipient`'s mailbox that `sender` may write.
 *
 * @example
 * ```ts
 * senderSlots(me.bytes, peer.bytes) // e.g. [5, 6]
 * ```
 */
export function senderSlots(sender: Uint8Array, recipient: Uint8Array): number[] {
  const h = createHash('sha256').update(sender).update(recipient).digest()[0] as number;
  return Array.from({ length: SLOTS_PER_SENDER }, (_, i) => (h + i) % MAILBOX_SLOTS);
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** The fields of a DHT record a validator sees (`@detr/dht`'s `DhtRecordView`). */
export interface MailboxRecordView {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly ttlSec: number;
  readonly publisher: Uint8Array;
}

/**
 * The DHT validator of the `mbox` namespace (for `createDht`'s `validators`).
 *
 * @example
 * ```ts
 * createDht(c, { networkId, validators: { mbox: mailboxValidator({ maxBytes: 61440, maxTtlSec: 86400 }) } })
 * ```
 */
export function mailboxValidator(limits: { maxBytes: number; maxTtlSec: number }): {
  maxValueBytes: number;
  validate(record: MailboxRecordView): boolean;
} {
  return {
    maxValueBytes: limits.maxBytes,
    validate(r) {
      const k = r.key;
      if (k.length !== PREFIX.length + PEER_BYTES + 1) return false;
      if (!same(k.subarray(0, PREFIX.length), PREFIX)) return false;
      if ((k[k.length - 1] as number) >= MAILBOX_SLOTS) return false;
      if (r.ttlSec > limits.maxTtlSec) return false;
      const recipientBytes = k.subarray(PREFIX.length, PREFIX.length + PEER_BYTES);
      try {
        const recipient = peerIdFromBytes(recipientBytes);
        // A tombstone: only the recipient deletes.
        if (r.value.length === 0) return same(recipient.publicKey, r.publisher);
        if (r.value.length > limits.maxBytes) return false;
        const m = OfflineMessage.decode(r.value);
        if (!same(m.recipient, recipientBytes)) return false;
        const sender = peerIdFromBytes(m.sender);
        if (!same(sender.publicKey, r.publisher)) return false;
        return senderSlots(m.sender, recipientBytes).includes(k[k.length - 1] as number);
      } catch {
        return false;
      }
    },
  };
}

/** The records the mailboxes live in (`@detr/dht`'s `Dht` fits). */
export interface MailboxRecords {
  put(
    key: Uint8Array,
    value: Uint8Array,
    options?: { seq?: number; ttlSec?: number; republish?: boolean } & AbortOptions,
  ): Promise<unknown>;
  get(
    key: Uint8Array,
    options?: AbortOptions,
  ): Promise<{ value: Uint8Array; seq: number; expiresAtMs?: number } | undefined>;
}

/** Options of {@link createOffline}. */
export interface OfflineInit {
  /** Lifetime of a stored message. @default 86400 */
  ttlSec?: number;
  /** Largest sealed message. @default 61440 */
  maxBytes?: number;
}

/** Counters of offline delivery. */
export interface OfflineStats {
  stored: number;
  fetched: number;
  duplicates: number;
  deleted: number;
  mailboxFull: number;
}

/** Offline delivery: store for others, fetch our own. */
export interface Offline {
  /** Seals and stores a message for `peer`; false when its mailbox has no free slot for us. */
  store(peer: PeerId, channel: string, data: Uint8Array, options?: AbortOptions): Promise<boolean>;
  /** Reads our mailbox, deletes what it read; resolves to what was delivered now. */
  fetch(options?: AbortOptions): Promise<OpenedOffline[]>;
  stats(): OfflineStats;
}

/**
 * Offline mailboxes over DHT records.
 *
 * @example
 * ```ts
 * const offline = createOffline({ records: dht, identity, store, now: Date.now, deliver }, {})
 * await offline.fetch()
 * ```
 */
export function createOffline(
  c: {
    records: MailboxRecords;
    identity: Identity;
    store?: Store;
    now: () => number;
    deliver: (m: OpenedOffline) => void;
  },
  init: OfflineInit = {},
): Offline {
  const ttlSec = init.ttlSec ?? 86_400;
  const maxBytes = init.maxBytes ?? 61_440;
  const self = c.identity.peerId;
  const seenMem = new Set<string>();
  const seenNs: Namespace<Uint8Array> | undefined = c.store?.namespace('outbox');
  const counters: OfflineStats = {
    stored: 0,
    fetched: 0,
    duplicates: 0,
    deleted: 0,
    mailboxFull: 0,
  };
  const seen = (id: string): boolean =>
    seenMem.has(id) || seenNs?.has(`offline-seen:${id}`) === true;
  let fetching: Promise<OpenedOffline[]> | undefined;
  /** The last store in progress per recipient (stores to one recipient run one after another). */
  const storing = new Map<string, Promise<void>>();

  const storeNow = async (
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options: AbortOptions,
  ): Promise<boolean> => {
    const sealed = sealOffline(self, peer, channel, data, c.now() + ttlSec * 1000);
    if (sealed.length > maxBytes) return false;
    for (const slot of senderSlots(self.bytes, peer.bytes)) {
      const key = mailboxKey(peer, slot);
      const existing = await c.records.get(key, options).catch(() => undefined);
      if (existing !== undefined && existing.value.length > 0) continue;
      await c.records.put(key, sealed, {
        seq: Math.max(c.now(), (existing?.seq ?? 0) + 1),
        ttlSec,
        republish: false,
        ...options,
      });
      counters.stored++;
      return true;
    }
    counters.mailboxFull++;
    return false;
  };

  const readSlot = async (
    slot: number,
    options: AbortOptions,
  ): Promise<OpenedOffline | undefined> => {
    const key = mailboxKey(self, slot);
    const r = await c.records.get(key, options);
    if (r === undefined || r.value.length === 0) return undefined;
    const opened = openOffline(c.identity, r.value, c.now());
    // Delete it (opened or not: an unreadable record only wastes the slot).
    const left = Math.ceil(((r.expiresAtMs ?? c.now() + ttlSec * 1000) - c.now()) / 1000);
    await c.records
      .put(key, new Uint8Array(0), {
        seq: r.seq + 1,
        ttlSec: Math.min(ttlSec, Math.max(60, left)),
        republish: false,
        ...options,
      })
      .then(() => counters.deleted++)
      .catch(() => {});
    if (opened === undefined) return undefined;
    if (seen(opened.id)) {
      counters.duplicates++;
      return undefined;
    }
    seenMem.add(opened.id);
    await seenNs?.put(`offline-seen:${opened.id}`, new Uint8Array([1]), {
      expiresAtMs: opened.expiresAtMs,
    });
    counters.fetched++;
    c.deliver(opened);
    return opened;
  };

  return {
    store(peer, channel, data, options = {}) {
      // One store per recipient at a time: two concurrent ones would both see a slot free and the
      // second (higher seq) would replace the first.
      const key = peer.toString();
      const run = (storing.get(key) ?? Promise.resolve()).then(() =>
        storeNow(peer, channel, data, options),
      );
      const tail = run.then(
        () => {},
        () => {},
      );
      storing.set(key, tail);
      void tail.then(() => {
        if (storing.get(key) === tail) storing.delete(key);
      });
      return run;
    },
    fetch(options = {}) {
      // One fetch at a time: two concurrent ones would deliver a message twice.
      fetching ??= (async () => {
        try {
          const out: OpenedOffline[] = [];
          const got = await Promise.all(
            Array.from({ length: MAILBOX_SLOTS }, (_, slot) =>
              // A signal of its own per lookup: the DHT listens on the one it is given, and eight
              // lookups on one shared signal trip Node's listener-leak warning.
              readSlot(slot, {
                signal:
                  options.signal !== undefined
                    ? AbortSignal.any([options.signal])
                    : AbortSignal.timeout(120_000),
              }).catch(() => undefined),
            ),
          );
          for (const m of got) if (m !== undefined) out.push(m);
          return out;
        } finally {
          fetching = undefined;
        }
      })();
      return fetching;
    },
    stats: () => ({ ...counters }),
  };
}
