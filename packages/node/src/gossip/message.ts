// Published messages: signing (publisher side), the message id, and the checks every received
// message passes before anything else looks at it.
import { createHash } from 'node:crypto';
import type { PeerId } from '@detr/interface';
import {
  GossipPublish,
  MessageType,
  type GossipMessage,
  type GossipMessageInit,
} from '@detr/protocol';
import { envelopeSigningBytes, verifySignature, type Identity } from '../identity.js';

const PUBLISH_TYPE = MessageType.GossipPublish;

/** Hex form of bytes (message ids are map keys in this form). */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * A message's id: the first 20 bytes of SHA-256 over its signed body.
 *
 * @example
 * ```ts
 * const id = Buffer.from(messageIdOf(envelope.body)).toString('hex')
 * ```
 */
export function messageIdOf(body: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(body).digest().subarray(0, 20));
}

/** Builds the signed message `identity` publishes. */
export function signPublish(
  identity: Identity,
  topic: string,
  seqno: number,
  data: Uint8Array,
): { id: string; message: GossipMessageInit } {
  const body = GossipPublish.encode({ topic, from: identity.peerId.bytes, seqno, data });
  const signed = {
    payloadType: PUBLISH_TYPE,
    body,
    signer: identity.peerId.publicKey,
    signature: identity.sign(envelopeSigningBytes(PUBLISH_TYPE, body)),
  };
  const messageId = messageIdOf(body);
  return { id: hex(messageId), message: { messageId, signed } };
}

/** A received message that passed {@link checkMessage}. */
export interface CheckedMessage {
  id: string;
  publish: GossipPublish;
  from: PeerId;
  /** False when the signature was not checked (a topic we do not subscribe to). */
  verified: boolean;
}

/**
 * Checks a received message: a GossipPublish envelope, the id matches its body, the signer is
 * the publisher named in it, the data fits, and — when `verify(topic)` says it matters (we
 * subscribe to the topic) — the signature holds. A message whose signature was not checked comes
 * back with `verified: false` and must be neither delivered nor forwarded.
 *
 * @throws {RangeError} for any failed check (the sender is to be penalised)
 */
export function checkMessage(
  m: GossipMessage,
  peerIdFromBytes: (b: Uint8Array) => PeerId,
  maxDataBytes: number,
  verify: (topic: string) => boolean = () => true,
): CheckedMessage {
  const env = m.signed;
  if (env.payloadType !== PUBLISH_TYPE) throw new RangeError('not a GossipPublish');
  const id = hex(m.messageId);
  if (hex(messageIdOf(env.body)) !== id) throw new RangeError('message id mismatch');
  let publish: GossipPublish;
  let from: PeerId;
  try {
    publish = GossipPublish.decode(env.body);
    from = peerIdFromBytes(publish.from);
  } catch (err) {
    throw new RangeError('malformed GossipPublish', { cause: err });
  }
  if (Buffer.compare(from.publicKey, env.signer) !== 0) {
    throw new RangeError('signer is not the publisher');
  }
  if (publish.data.length > maxDataBytes) throw new RangeError('message too large');
  // The signature is the expensive check: skipped for topics we would drop anyway.
  if (!verify(publish.topic)) return { id, publish, from, verified: false };
  if (
    !verifySignature(env.signer, envelopeSigningBytes(env.payloadType, env.body), env.signature)
  ) {
    throw new RangeError('bad signature');
  }
  return { id, publish, from, verified: true };
}

/** Checks a topic name given by the local user. @throws {TypeError} outside 1–256 bytes */
export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || Buffer.byteLength(topic) > 256) {
    throw new TypeError('topics have 1–256 bytes');
  }
}

/** Fisher–Yates shuffle in place with an injected random source. */
export function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}
