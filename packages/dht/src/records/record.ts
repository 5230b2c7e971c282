// Signed records: a DhtRecord (key, value, seq, TTL, expiry, network id) in a SignedEnvelope
// (payload type 50) signed by the publisher's Ed25519 key. `openRecord` is the one gate every
// record passes, whether it arrives in a STORE, a FIND_VALUE answer or from the local store.
import { DhtRecord, MessageType, ProtocolError, type SignedEnvelope } from '@detr/protocol';
import { InvalidRecordError } from '../errors.js';
import { envelopeSigningBytes } from '@detr/aecomms';
import type { DhtSigner, SignatureVerifier } from '../identity.js';
import { bytesEqual } from '../keys.js';

/** A record whose envelope, body, signature, network and expiry have been checked. */
export interface DhtRecordView {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Sequence number: a higher one replaces a lower one. */
  readonly seq: number;
  readonly ttlSec: number;
  /** Absolute expiry (derived from `ttlSec` on arrival when the publisher left it 0). */
  readonly expiresAtMs: number;
  readonly networkId: Uint8Array;
  /** The publisher's Ed25519 public key (the envelope's signer). */
  readonly publisher: Uint8Array;
  /** The envelope as received, for forwarding unchanged. */
  readonly envelope: SignedEnvelope;
}

/**
 * Checks a record of one key namespace after its signature is verified. Return `false` or throw
 * to refuse it.
 *
 * @example
 * ```ts
 * const ownedByPublisher: RecordValidator = {
 *   validate: (r) => bytesEqual(r.key.subarray(3, 35), r.publisher),
 * }
 * ```
 */
export interface RecordValidator {
  validate(record: DhtRecordView): boolean | void;
  /** Largest value this namespace accepts (below the DHT-wide `maxValueBytes`). */
  readonly maxValueBytes?: number;
  /**
   * Whether `next` (a higher seq, already valid) may replace `current` under the same key. It
   * lets a namespace allow a party other than the publisher to supersede or delete a record
   * (e.g. a mailbox's owner clearing a slot another peer wrote) while refusing everyone else.
   * Holders refuse a refused replacement (`replace-refused`, no penalty: two honest writers can
   * race), and `get` keeps `current` over such a `next`. Throwing counts as refusing. Every node of a network must use the
   * same rule. @default every higher seq replaces a lower one
   */
  mayReplace?(next: DhtRecordView, current: DhtRecordView): boolean;
  /**
   * Where the namespace's records are stored: `'hash'` at the k closest to a hash of the network
   * id and the key; `'peer'` at the k closest to the peer the key names right after the
   * namespace (`/<namespace>/<PeerId bytes>…`, refused otherwise), so that peer is one of the
   * holders while it is online and is handed the records when it comes back (see the
   * `record:self` event). Every node of a network must use the same placement. @default 'hash'
   */
  readonly placement?: 'hash' | 'peer';
}

/**
 * True when record `a` wins over record `b` under the same key: a higher seq wins unless the
 * namespace's `mayReplace` refuses it (then the lower one stands).
 *
 * @example
 * ```ts
 * if (supersedes(validator, incoming, held)) keep(incoming)
 * ```
 */
export function supersedes(
  validator: RecordValidator | undefined,
  a: DhtRecordView,
  b: DhtRecordView,
): boolean {
  if (a.seq > b.seq) return mayReplace(validator, a, b);
  if (a.seq < b.seq) return !mayReplace(validator, b, a);
  return false;
}

/** The namespace's `mayReplace` answer; one that throws refuses. */
function mayReplace(
  validator: RecordValidator | undefined,
  next: DhtRecordView,
  current: DhtRecordView,
): boolean {
  if (validator?.mayReplace === undefined) return true;
  try {
    return validator.mayReplace(next, current) !== false;
  } catch {
    return false;
  }
}

/**
 * The view of an envelope that already passed {@link openRecord} (e.g. one this node holds):
 * decoded, not checked again. `undefined` when it does not decode.
 */
export function heldView(envelope: SignedEnvelope, expiresAtMs: number): DhtRecordView | undefined {
  try {
    const body = DhtRecord.decode(envelope.body);
    return {
      key: body.key,
      value: body.value,
      seq: body.seq,
      ttlSec: body.ttlSec,
      expiresAtMs,
      networkId: body.networkId,
      publisher: envelope.signer,
      envelope,
    };
  } catch {
    return undefined;
  }
}

/** The rules `openRecord` applies. */
export interface RecordRules {
  readonly networkId: Uint8Array;
  readonly verifier: SignatureVerifier;
  readonly validators: ReadonlyMap<string, RecordValidator>;
  readonly maxValueBytes: number;
  readonly maxTtlSec: number;
  /** Tolerated difference between the publisher's clock and ours. */
  readonly maxClockSkewMs: number;
}

const NAMESPACE = /^[a-z0-9-]{1,32}$/;

/**
 * The namespace of a record key `/<namespace>/...`, or `undefined` when the key has none.
 *
 * @example
 * ```ts
 * namespaceOf(new TextEncoder().encode('/presence/...')) // 'presence'
 * ```
 */
export function namespaceOf(key: Uint8Array): string | undefined {
  if (key[0] !== 0x2f) return undefined;
  const end = key.indexOf(0x2f, 1);
  if (end < 2 || end > 33) return undefined;
  const ns = Buffer.from(key.buffer, key.byteOffset + 1, end - 1).toString('latin1');
  return NAMESPACE.test(ns) ? ns : undefined;
}

/** The fields a publisher chooses. */
export interface RecordFields {
  key: Uint8Array;
  value: Uint8Array;
  seq: number;
  ttlSec: number;
  expiresAtMs: number;
  networkId: Uint8Array;
}

/**
 * Encodes and signs a record.
 *
 * @throws {RangeError} when a field breaks a schema limit
 * @example
 * ```ts
 * const envelope = await signRecord(identity, { key, value, seq, ttlSec, expiresAtMs, networkId })
 * ```
 */
export async function signRecord(signer: DhtSigner, fields: RecordFields): Promise<SignedEnvelope> {
  const body = DhtRecord.encode(fields);
  const signature = await signer.sign(envelopeSigningBytes(MessageType.DhtRecord, body));
  return {
    payloadType: MessageType.DhtRecord,
    body,
    signer: signer.peerId.publicKey,
    signature,
  };
}

/**
 * Checks everything about a record envelope and returns its fields.
 *
 * @throws {InvalidRecordError} with the reason of the first rule it breaks
 * @example
 * ```ts
 * const view = openRecord(request.store.record, rules, clock.now()) // or throws
 * ```
 */
export function openRecord(
  envelope: SignedEnvelope,
  rules: RecordRules,
  nowMs: number,
): DhtRecordView {
  if (envelope.payloadType !== MessageType.DhtRecord) throw new InvalidRecordError('malformed');
  if (envelope.signer.length !== 32 || envelope.signature.length !== 64)
    throw new InvalidRecordError('malformed');
  let body: DhtRecord;
  try {
    body = DhtRecord.decode(envelope.body);
  } catch (err) {
    if (err instanceof ProtocolError)
      throw new InvalidRecordError('malformed', undefined, { cause: err });
    throw err;
  }
  if (!bytesEqual(body.networkId, rules.networkId)) throw new InvalidRecordError('network');
  const ns = namespaceOf(body.key);
  const validator = ns === undefined ? undefined : rules.validators.get(ns);
  if (validator === undefined) throw new InvalidRecordError('namespace');
  const maxValue = Math.min(rules.maxValueBytes, validator.maxValueBytes ?? Infinity);
  if (body.value.length > maxValue) throw new InvalidRecordError('too-large');
  if (body.ttlSec < 1 || body.ttlSec > rules.maxTtlSec) throw new InvalidRecordError('ttl');
  const ttlMs = body.ttlSec * 1000;
  let expiresAtMs = body.expiresAtMs;
  if (expiresAtMs === 0) expiresAtMs = nowMs + ttlMs;
  else {
    if (expiresAtMs <= nowMs) throw new InvalidRecordError('expired');
    if (expiresAtMs > nowMs + ttlMs + rules.maxClockSkewMs) throw new InvalidRecordError('ttl');
  }
  if (
    !rules.verifier.verify(
      envelope.signer,
      envelopeSigningBytes(envelope.payloadType, envelope.body),
      envelope.signature,
    )
  ) {
    throw new InvalidRecordError('signature');
  }
  const view: DhtRecordView = {
    key: body.key,
    value: body.value,
    seq: body.seq,
    ttlSec: body.ttlSec,
    expiresAtMs,
    networkId: body.networkId,
    publisher: envelope.signer,
    envelope,
  };
  let ok: boolean | void;
  try {
    ok = validator.validate(view);
  } catch (err) {
    throw new InvalidRecordError('validator', undefined, { cause: err });
  }
  if (ok === false) throw new InvalidRecordError('validator');
  return view;
}
