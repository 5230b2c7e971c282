// Signed envelopes (`detr.SignedEnvelope` of @detr/protocol): an Ed25519 signature over a
// domain-separated prefix, the payload type and the exact encoded body. Tokens, network metadata,
// revocation lists, presence records and anything else signed in detr use this one scheme, so a
// signature made for one payload type can never be replayed as another.
import type { SignedEnvelope } from '@detr/protocol';
import { defaultCryptoProvider } from './crypto/default.js';
import type { CryptoProvider } from './crypto/provider.js';

const PREFIX = new TextEncoder().encode('detr-signed-envelope:');

/** Something that can sign: an {@link Identity} or any Ed25519 key pair. */
export interface EnvelopeSigner {
  readonly publicKey: Uint8Array;
  sign(data: Uint8Array): Uint8Array;
}

function checkType(payloadType: number): void {
  if (!Number.isInteger(payloadType) || payloadType < 1 || payloadType > 0xffff_ffff) {
    throw new RangeError('payloadType must be an integer in 1..2^32-1');
  }
}

/**
 * The bytes an envelope's signature covers: `"detr-signed-envelope:"` ‖ payload type (4 bytes,
 * big-endian) ‖ body.
 *
 * @throws {RangeError} when `payloadType` is not an integer in 1..2^32−1
 * @example
 * ```ts
 * const signature = identity.sign(envelopeSigningBytes(MessageType.Presence, body))
 * ```
 */
export function envelopeSigningBytes(payloadType: number, body: Uint8Array): Uint8Array {
  checkType(payloadType);
  const out = new Uint8Array(PREFIX.length + 4 + body.length);
  out.set(PREFIX, 0);
  new DataView(out.buffer).setUint32(PREFIX.length, payloadType);
  out.set(body, PREFIX.length + 4);
  return out;
}

/**
 * Signs `body` (an encoded message of type `payloadType`) into a `SignedEnvelope`.
 *
 * @throws {RangeError} when `payloadType` is not an integer in 1..2^32−1
 * @example
 * ```ts
 * const body = Presence.encode(presence)
 * const envelope = signEnvelope(identity, MessageType.Presence, body)
 * const wire = SignedEnvelope.encode(envelope)
 * ```
 */
export function signEnvelope(
  signer: EnvelopeSigner,
  payloadType: number,
  body: Uint8Array,
): SignedEnvelope {
  const signature = signer.sign(envelopeSigningBytes(payloadType, body));
  return { payloadType, body, signer: Uint8Array.from(signer.publicKey), signature };
}

/** Options of {@link verifyEnvelope}. */
export interface VerifyEnvelopeOptions {
  /** Reject envelopes of any other payload type. */
  payloadType?: number;
  /**
   * The provider that verifies the signature.
   *
   * @default defaultCryptoProvider (sodium when it loads, else node:crypto)
   */
  provider?: CryptoProvider;
}

/**
 * True when `envelope.signature` is `envelope.signer`'s valid signature of its payload type and
 * body (and the type is `options.payloadType`, if given). Who the signer must be is the caller's
 * decision (an admin key, the peer named in the body, …). Never throws.
 *
 * @example
 * ```ts
 * const envelope = SignedEnvelope.decode(bytes)
 * if (!verifyEnvelope(envelope, { payloadType: MessageType.Presence })) return drop()
 * ```
 */
export function verifyEnvelope(
  envelope: SignedEnvelope,
  options: VerifyEnvelopeOptions = {},
): boolean {
  const { payloadType, body, signer, signature } = envelope;
  if (options.payloadType !== undefined && payloadType !== options.payloadType) return false;
  if (!Number.isInteger(payloadType) || payloadType < 1 || payloadType > 0xffff_ffff) return false;
  if (!(body instanceof Uint8Array)) return false;
  const provider = options.provider ?? defaultCryptoProvider;
  return provider.ed25519Verify(signer, envelopeSigningBytes(payloadType, body), signature);
}
