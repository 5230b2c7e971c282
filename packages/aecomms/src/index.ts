/**
 * @packageDocumentation
 * @detr/aecomms: identities, the Noise XX handshake, secure channels and network access tokens.
 */

export {
  HandshakeError,
  DecryptError,
  TruncatedStreamError,
  MalformedFrameError,
  NonceExhaustedError,
  TokenError,
  KeyFileError,
  InvalidPeerIdError,
} from './errors.js';
export type { HandshakeFailureReason, TokenFailureReason, KeyFileFailureReason } from './errors.js';

export type {
  CryptoProvider,
  Aead,
  X25519KeyPair,
  Ed25519KeyPair,
  Ed25519PublicKey,
  ScryptParams,
} from './crypto/provider.js';
export { nodeCryptoProvider } from './crypto/node.js';
export { nobleCryptoProvider } from './crypto/noble.js';

export {
  peerIdFromPublicKey,
  peerIdFromBytes,
  peerIdFromString,
  PEER_ID_BYTES,
  PEER_ID_TEXT_LENGTH,
  PEER_ID_TEXT_PREFIX,
  PEER_ID_VERSION_ED25519,
} from './identity/peer-id.js';
export type { Identity, CreateIdentityOptions } from './identity/identity.js';
export { createIdentity, verifySignature } from './identity/identity.js';

export type { EnvelopeSigner, VerifyEnvelopeOptions } from './envelope.js';
export { envelopeSigningBytes, signEnvelope, verifyEnvelope } from './envelope.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/aecomms', layer: 'core' } as const;
