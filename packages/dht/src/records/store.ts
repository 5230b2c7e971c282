// The records this node holds for the network, in @detr/stored (namespace `dht-records`, key
// 0x01 ‖ network id ‖ record key, the envelope's bytes as value, expiring with the record), with
// an in-memory index for the sequence rule, the quotas and re-replication.
import type { Clock } from '@detr/interface';
import { DhtRecord as DhtRecordBody, SignedEnvelope } from '@detr/protocol';
import type { Namespace, Store } from '@detr/stored';
import { InvalidRecordError } from '../errors.js';
import { bytesEqual, bytesKey, kadIdOfRecordKey } from '../keys.js';
import type { RecordLocator } from './locate.js';
import { QuotaLedger, SELF, type RecordQuotas } from './quota.js';

export { SELF, type RecordQuotas } from './quota.js';
import {
  heldView,
  namespaceOf,
  openRecord,
  type DhtRecordView,
  type RecordRules,
  type RecordValidator,
} from './record.js';

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

export class RecordStore {
  readonly #ns: Namespace<Uint8Array>;
  readonly #prefix: Uint8Array;
  readonly #clock: Clock;
  readonly #quota: QuotaLedger;
  readonly #locate: RecordLocator;
  readonly #validators: ReadonlyMap<string, RecordValidator> | undefined;
  readonly #index = new Map<string, HeldRecord>();

  constructor(
    store: Store,
    networkId: Uint8Array,
    clock: Clock,
    quotas: RecordQuotas,
    options: {
      /** Where a key is stored. @default the network-scoped hash of the key */
      locate?: RecordLocator;
      /** Namespace rules consulted on replacement (`mayReplace`). */
      validators?: ReadonlyMap<string, RecordValidator>;
    } = {},
  ) {
    this.#ns = store.namespace('dht-records');
    this.#locate = options.locate ?? ((key) => kadIdOfRecordKey(networkId, key));
    this.#validators = options.validators;
    this.#prefix = new Uint8Array(1 + networkId.length);
    this.#prefix[0] = RECORD_PREFIX;
    this.#prefix.set(networkId, 1);
    this.#clock = clock;
    this.#quota = new QuotaLedger(quotas);
  }

  get size(): number {
    return this.#index.size;
  }

  get bytes(): number {
    return this.#quota.bytes;
  }

  /**
   * Rebuilds the index from the store, dropping records that no longer pass `rules` (and their
   * signatures are checked again). Returns how many were kept.
   */
  async load(rules: RecordRules): Promise<number> {
    this.#index.clear();
    this.#quota.clear();
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
   * Held records whose key starts with `prefix` (every one without), with their fields, at most
   * `limit`.
   */
  list(prefix: Uint8Array = new Uint8Array(0), limit = Infinity): DhtRecordView[] {
    const out: DhtRecordView[] = [];
    for (const h of this.records()) {
      if (out.length >= limit) break;
      if (h.key.length < prefix.length || !bytesEqual(h.key.subarray(0, prefix.length), prefix))
        continue;
      const envelope = this.get(h.key);
      const view = envelope === undefined ? undefined : heldView(envelope, h.expiresAtMs);
      if (view !== undefined) out.push(view);
    }
    return out;
  }

  /**
   * Stores a verified record delivered by `owner` (a peer's `bytesKey`, or {@link SELF}).
   * Resolves to `'stored'`, or `'unchanged'` when the same record was already held.
   *
   * @throws {InvalidRecordError} `stale-seq` for a lower seq than held, `conflict` for another
   *   value at the same seq, `replace-refused` when the namespace's `mayReplace` refuses it
   * @throws {QuotaExceededError} when `owner` or the node is over quota
   */
  async put(view: DhtRecordView, owner: string): Promise<'stored' | 'unchanged'> {
    const k = bytesKey(view.key);
    const now = this.#clock.now();
    const existing = this.held(view.key);
    const encoded = SignedEnvelope.encode(view.envelope);
    if (existing !== undefined) {
      if (view.seq < existing.seq) throw new InvalidRecordError('stale-seq');
      if (view.seq > existing.seq) this.#checkReplace(view, existing);
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
    this.#quota.check(owner, encoded.length, existing, this.#index.size);
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
    return this.#quota.usage(owner);
  }

  #checkReplace(view: DhtRecordView, existing: HeldRecord): void {
    const ns = namespaceOf(view.key);
    const validator = ns === undefined ? undefined : this.#validators?.get(ns);
    if (validator?.mayReplace === undefined) return;
    const held = this.get(view.key);
    const current = held === undefined ? undefined : heldView(held, existing.expiresAtMs);
    if (current === undefined) return;
    let ok: boolean;
    try {
      ok = validator.mayReplace(view, current);
    } catch {
      ok = false;
    }
    if (!ok) throw new InvalidRecordError('replace-refused');
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
      kadId: prev?.kadId ?? this.#locate(view.key),
      seq: view.seq,
      expiresAtMs: view.expiresAtMs,
      bytes,
      owner,
      lastReceivedMs: receivedMs,
      lastReplicatedMs: prev?.lastReplicatedMs ?? 0,
    };
    this.#index.set(bytesKey(view.key), h);
    this.#quota.add(h);
  }

  #forget(k: string, h: HeldRecord, fromIndex = true): void {
    if (fromIndex) this.#index.delete(k);
    this.#quota.remove(h);
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
