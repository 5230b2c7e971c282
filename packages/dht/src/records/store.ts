// The records this node holds for the network, in @detr/stored (namespace `dht-records`, key
// 0x01 ‖ network id ‖ record key, the envelope's bytes as value, expiring with the record), with
// an in-memory index for the sequence rule, the quotas and re-replication.
import type { Clock } from '@detr/interface';
import { DhtRecord as DhtRecordBody, SignedEnvelope } from '@detr/protocol';
import type { Namespace, Store } from '@detr/stored';
import { InvalidRecordError, QuotaExceededError } from '../errors.js';
import { bytesEqual, bytesKey, kadIdOfRecordKey } from '../keys.js';
import { openRecord, type DhtRecordView, type RecordRules } from './record.js';

/** Storage quotas. */
export interface RecordQuotas {
  /** Most records attributed to one peer (the one that delivered them). */
  maxRecordsPerPeer: number;
  /** Most bytes (encoded envelopes) attributed to one peer. */
  maxBytesPerPeer: number;
  /** Most records held in all. */
  maxRecords: number;
  /** Most bytes held in all. */
  maxBytes: number;
}

/** What the index knows about one held record. */
export interface HeldRecord {
  readonly key: Uint8Array;
  readonly kadId: Uint8Array;
  seq: number;
  expiresAtMs: number;
  bytes: number;
  /** The peer the record is attributed to (`bytesKey` of its public key), or `self`. */
  owner: string;
  /** Last time a peer stored it to us (the Kademlia republish shortcut). */
  lastReceivedMs: number;
  /** Last time we replicated it ourselves. */
  lastReplicatedMs: number;
}

const RECORD_PREFIX = 0x01;
export const SELF = 'self';

export class RecordStore {
  readonly #ns: Namespace<Uint8Array>;
  readonly #prefix: Uint8Array;
  readonly #networkId: Uint8Array;
  readonly #clock: Clock;
  readonly #quotas: RecordQuotas;
  readonly #index = new Map<string, HeldRecord>();
  readonly #perOwner = new Map<string, { records: number; bytes: number }>();
  #bytes = 0;

  constructor(store: Store, networkId: Uint8Array, clock: Clock, quotas: RecordQuotas) {
    this.#ns = store.namespace('dht-records');
    this.#networkId = networkId;
    this.#prefix = new Uint8Array(1 + networkId.length);
    this.#prefix[0] = RECORD_PREFIX;
    this.#prefix.set(networkId, 1);
    this.#clock = clock;
    this.#quotas = quotas;
  }

  get size(): number {
    return this.#index.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Rebuilds the index from the store, dropping records that no longer pass `rules` (and their
   * signatures are checked again). Returns how many were kept.
   */
  async load(rules: RecordRules): Promise<number> {
    this.#index.clear();
    this.#perOwner.clear();
    this.#bytes = 0;
    const now = this.#clock.now();
    const bad: Uint8Array[] = [];
    for (const entry of this.#ns.scan({ prefix: this.#prefix })) {
      try {
        const view = openRecord(SignedEnvelope.decode(entry.value), rules, now);
        if (!bytesEqual(view.key, entry.key.subarray(this.#prefix.length))) throw new Error('key');
        this.#account(view, entry.value.length, SELF, 0);
      } catch {
        bad.push(entry.key);
      }
    }
    for (const k of bad) await this.#ns.delete(k);
    return this.#index.size;
  }

  /** The index entry of `key`, if held and not expired. */
  held(key: Uint8Array): HeldRecord | undefined {
    const h = this.#index.get(bytesKey(key));
    if (h !== undefined && h.expiresAtMs <= this.#clock.now()) {
      this.#forget(bytesKey(key), h);
      return undefined;
    }
    return h;
  }

  /** The envelope held under `key`. */
  get(key: Uint8Array): SignedEnvelope | undefined {
    const h = this.held(key);
    if (h === undefined) return undefined;
    const bytes = this.#ns.get(this.#storeKey(key));
    if (bytes === undefined) {
      this.#forget(bytesKey(key), h);
      return undefined;
    }
    try {
      return SignedEnvelope.decode(bytes);
    } catch {
      return undefined;
    }
  }

  /** Every held record (live at call time). */
  records(): HeldRecord[] {
    const now = this.#clock.now();
    const out: HeldRecord[] = [];
    for (const [k, h] of this.#index) {
      if (h.expiresAtMs <= now) this.#forget(k, h);
      else out.push(h);
    }
    return out;
  }

  /**
   * Stores a verified record delivered by `owner` (a peer's `bytesKey`, or {@link SELF}).
   * Resolves to `'stored'`, or `'unchanged'` when the same record was already held.
   *
   * @throws {InvalidRecordError} `stale-seq` for a lower seq than held, `conflict` for another
   *   value at the same seq
   * @throws {QuotaExceededError} when `owner` or the node is over quota
   */
  async put(view: DhtRecordView, owner: string): Promise<'stored' | 'unchanged'> {
    const k = bytesKey(view.key);
    const now = this.#clock.now();
    const existing = this.held(view.key);
    const encoded = SignedEnvelope.encode(view.envelope);
    if (existing !== undefined) {
      if (view.seq < existing.seq) throw new InvalidRecordError('stale-seq');
      if (view.seq === existing.seq) {
        const held = this.get(view.key);
        const heldValue = held === undefined ? undefined : valueOf(held);
        if (heldValue === undefined || !bytesEqual(heldValue, view.value))
          throw new InvalidRecordError('conflict');
        existing.lastReceivedMs = owner === SELF ? existing.lastReceivedMs : now;
        if (view.expiresAtMs <= existing.expiresAtMs) return 'unchanged';
        // Same record, later expiry: the publisher republished it.
      }
    }
    const delta = encoded.length - (existing?.bytes ?? 0);
    if (owner !== SELF) {
      const sameOwner = existing !== undefined && existing.owner === owner;
      const use = this.#perOwner.get(owner) ?? { records: 0, bytes: 0 };
      const addRecords = sameOwner ? 0 : 1;
      const addBytes = sameOwner ? delta : encoded.length;
      if (
        use.records + addRecords > this.#quotas.maxRecordsPerPeer ||
        use.bytes + addBytes > this.#quotas.maxBytesPerPeer
      ) {
        throw new QuotaExceededError('The peer is over its storage quota');
      }
    }
    if (
      (existing === undefined && this.#index.size + 1 > this.#quotas.maxRecords) ||
      this.#bytes + delta > this.#quotas.maxBytes
    ) {
      throw new QuotaExceededError('The node is over its storage quota');
    }
    await this.#ns.put(this.#storeKey(view.key), encoded, { expiresAtMs: view.expiresAtMs });
    const prev = this.#index.get(k);
    if (prev !== undefined) this.#forget(k, prev, false);
    this.#account(view, encoded.length, owner, owner === SELF ? 0 : now, prev);
    return 'stored';
  }

  /** Removes `key`. */
  async delete(key: Uint8Array): Promise<void> {
    const k = bytesKey(key);
    const h = this.#index.get(k);
    if (h !== undefined) this.#forget(k, h);
    await this.#ns.delete(this.#storeKey(key));
  }

  /** Drops expired records from the index (the store hides and sweeps them itself). */
  sweep(): number {
    const now = this.#clock.now();
    let n = 0;
    for (const [k, h] of this.#index) {
      if (h.expiresAtMs <= now) {
        this.#forget(k, h);
        n++;
      }
    }
    return n;
  }

  /** Records and bytes attributed to `owner`. */
  usage(owner: string): { records: number; bytes: number } {
    return { ...(this.#perOwner.get(owner) ?? { records: 0, bytes: 0 }) };
  }

  #storeKey(key: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#prefix.length + key.length);
    out.set(this.#prefix, 0);
    out.set(key, this.#prefix.length);
    return out;
  }

  #account(
    view: DhtRecordView,
    bytes: number,
    owner: string,
    receivedMs: number,
    prev?: HeldRecord,
  ): void {
    const h: HeldRecord = {
      key: view.key.slice(),
      kadId: prev?.kadId ?? kadIdOfRecordKey(this.#networkId, view.key),
      seq: view.seq,
      expiresAtMs: view.expiresAtMs,
      bytes,
      owner,
      lastReceivedMs: receivedMs,
      lastReplicatedMs: prev?.lastReplicatedMs ?? 0,
    };
    this.#index.set(bytesKey(view.key), h);
    this.#bytes += bytes;
    const use = this.#perOwner.get(owner) ?? { records: 0, bytes: 0 };
    use.records++;
    use.bytes += bytes;
    this.#perOwner.set(owner, use);
  }

  #forget(k: string, h: HeldRecord, fromIndex = true): void {
    if (fromIndex) this.#index.delete(k);
    this.#bytes -= h.bytes;
    const use = this.#perOwner.get(h.owner);
    if (use !== undefined) {
      use.records--;
      use.bytes -= h.bytes;
      if (use.records <= 0) this.#perOwner.delete(h.owner);
    }
  }
}

function valueOf(envelope: SignedEnvelope): Uint8Array | undefined {
  try {
    // The body was checked when it was stored; decode only the value back.
    return DhtRecordBody.decode(envelope.body).value;
  } catch {
    return undefined;
  }
}
