import { DetrError } from '@detr/interface';

/**
 * A DHT request got no answer within its time limit (`requestTimeoutMs`).
 *
 * @example
 * ```ts
 * network.request(target, request, { timeoutMs }).catch((err) => {
 *   if (err instanceof DhtTimeoutError) reporter.penalize(peer, 'timeout')
 * })
 * ```
 */
export class DhtTimeoutError extends DetrError {
  constructor(message = 'The DHT request timed out', options?: { cause?: unknown }) {
    super(message, 'DHT_TIMEOUT', options);
    this.name = 'DhtTimeoutError';
  }
}

/**
 * A DHT request could not be delivered: no address of the peer could be dialed, the peer is not
 * the one expected, or it does not speak this network's DHT protocol.
 *
 * @example
 * ```ts
 * if (err instanceof DhtUnreachableError) table.remove(peer)
 * ```
 */
export class DhtUnreachableError extends DetrError {
  constructor(message = 'The peer could not be reached', options?: { cause?: unknown }) {
    super(message, 'DHT_UNREACHABLE', options);
    this.name = 'DhtUnreachableError';
  }
}

/**
 * A peer answered with bytes or fields that are not a valid response (undecodable frame, wrong
 * request id, malformed peer entries). The peer is penalised and dropped from the routing table.
 *
 * @example
 * ```ts
 * if (err instanceof DhtInvalidResponseError) reporter.penalize(peer, 'invalid-message')
 * ```
 */
export class DhtInvalidResponseError extends DetrError {
  constructor(message = 'The peer sent an invalid response', options?: { cause?: unknown }) {
    super(message, 'DHT_INVALID_RESPONSE', options);
    this.name = 'DhtInvalidResponseError';
  }
}

/** Why a record was refused; see {@link InvalidRecordError.reason}. */
export type InvalidRecordReason =
  | 'malformed'
  | 'signature'
  | 'network'
  | 'namespace'
  | 'validator'
  | 'too-large'
  | 'expired'
  | 'ttl'
  | 'stale-seq'
  | 'conflict'
  | 'replace-refused'
  | 'key-mismatch';

/**
 * A record failed validation: bad envelope or body, bad signature, another network, unknown
 * namespace, refused by the namespace's validator, too large, expired, a TTL above the maximum,
 * a sequence number lower than the one held (`stale-seq`), another value at the same sequence
 * number (`conflict`), or a replacement the namespace's `mayReplace` refuses (`replace-refused`).
 *
 * @example
 * ```ts
 * try { await dht.put(key, value) } catch (err) {
 *   if (err instanceof InvalidRecordError && err.reason === 'stale-seq') bumpSeq()
 * }
 * ```
 */
export class InvalidRecordError extends DetrError {
  /** Which rule refused the record. */
  readonly reason: InvalidRecordReason;

  constructor(reason: InvalidRecordReason, message?: string, options?: { cause?: unknown }) {
    super(message ?? `Invalid record (${reason})`, 'DHT_INVALID_RECORD', options);
    this.name = 'InvalidRecordError';
    this.reason = reason;
  }
}

/**
 * A node refused to store a record because the sender, or the node as a whole, is over its
 * storage quota.
 *
 * @example
 * ```ts
 * if (err instanceof QuotaExceededError) log.warn('record refused: quota')
 * ```
 */
export class QuotaExceededError extends DetrError {
  constructor(message = 'Storage quota exceeded', options?: { cause?: unknown }) {
    super(message, 'DHT_QUOTA_EXCEEDED', options);
    this.name = 'QuotaExceededError';
  }
}

/**
 * A put reached no node that stored the record (not even this one), or the routing table is
 * empty so no lookup can start.
 *
 * @example
 * ```ts
 * try { await dht.put(key, value) } catch (err) {
 *   if (err instanceof DhtNoPeersError) await dht.bootstrap()
 * }
 * ```
 */
export class DhtNoPeersError extends DetrError {
  constructor(message = 'No DHT peer could be reached', options?: { cause?: unknown }) {
    super(message, 'DHT_NO_PEERS', options);
    this.name = 'DhtNoPeersError';
  }
}
