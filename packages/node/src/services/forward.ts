// Forwarding (seed 000's request forwarding, one hop): with no direct route to a target, the
// requester signs a ServiceForward (target, time, nonce, the request) and sends it to a relay as a
// `detr.forward` request. The relay checks that the signer is the peer asking (so a forwarded
// request is never forwarded again), its policy and its limits, then passes the signed bytes
// unchanged to the target as a `detr.forwarded` request over its own connection. The target
// verifies the signature, that it is the target, the age and the replay cache, and serves the
// inner request as coming from the signer, through the relay.
import { randomBytes } from 'node:crypto';
import type { PeerId } from '@detr/interface';
import {
  MessageType,
  ServiceForward,
  SignedEnvelope,
  type ServiceRequestInit,
} from '@detr/protocol';
import {
  envelopeSigningBytes,
  peerIdFromPublicKey,
  verifySignature,
  type Identity,
} from '../identity.js';

const FORWARD_TYPE = MessageType.ServiceForward;

/**
 * The signed bytes a requester hands a relay: a SignedEnvelope of a ServiceForward.
 *
 * @example
 * ```ts
 * const bytes = signForward(identity, target, { service: 'echo', payload }, Date.now())
 * ```
 */
export function signForward(
  identity: Identity,
  target: PeerId,
  request: ServiceRequestInit,
  nowMs: number,
): Uint8Array {
  const body = ServiceForward.encode({
    target: target.bytes,
    issuedAtMs: nowMs,
    nonce: randomBytes(16),
    request: { ...request, requestId: 0 },
  });
  return SignedEnvelope.encode({
    payloadType: FORWARD_TYPE,
    body,
    signer: identity.peerId.publicKey,
    signature: identity.sign(envelopeSigningBytes(FORWARD_TYPE, body)),
  });
}

/** A verified forwarded request. */
export interface OpenedForward {
  /** The signer: the original requester. */
  requester: PeerId;
  target: PeerId;
  forward: ServiceForward;
  /** Names the request in a replay cache (signer and nonce). */
  replayKey: string;
}

/**
 * Decodes and verifies forwarded-request bytes (envelope type, signature, body).
 *
 * @throws {ProtocolError} for bytes that are no valid envelope or body; {RangeError} for a wrong
 *   type or a bad signature
 */
export function openForward(
  bytes: Uint8Array,
  peerIdFromBytes: (b: Uint8Array) => PeerId,
): OpenedForward {
  const env = SignedEnvelope.decode(bytes);
  if (env.payloadType !== FORWARD_TYPE) throw new RangeError('not a ServiceForward');
  if (!verifySignature(env.signer, envelopeSigningBytes(env.payloadType, env.body), env.signature))
    throw new RangeError('bad signature');
  const forward = ServiceForward.decode(env.body);
  const requester = peerIdFromPublicKey(env.signer);
  let target: PeerId;
  try {
    target = peerIdFromBytes(forward.target);
  } catch (err) {
    throw new RangeError('bad target', { cause: err });
  }
  const replayKey = `${Buffer.from(env.signer).toString('hex')}:${Buffer.from(forward.nonce).toString('hex')}`;
  return { requester, target, forward, replayKey };
}

/**
 * Forwarded requests seen recently, by replay key. Entries are added with expiries that grow with
 * time (receive time + twice the allowed age: past it the request is stale anyway), so the oldest
 * is always first. When full of live entries it refuses instead of forgetting one (a forgotten
 * entry could be replayed).
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();
  constructor(private readonly max: number) {}
  /** 'new' (remembered until `expiresAtMs`), 'replay', or 'full'. */
  add(key: string, expiresAtMs: number, nowMs: number): 'new' | 'replay' | 'full' {
    for (const [k, at] of this.entries) {
      if (at > nowMs) break;
      this.entries.delete(k);
    }
    if (this.entries.has(key)) return 'replay';
    if (this.entries.size >= this.max) return 'full';
    this.entries.set(key, expiresAtMs);
    return 'new';
  }
  get size(): number {
    return this.entries.size;
  }
}
