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
  NetworkMetadataError,
} from './errors.js';
export type {
  HandshakeFailureReason,
  TokenFailureReason,
  KeyFileFailureReason,
  NetworkMetadataFailureReason,
} from './errors.js';

export type {
  CryptoProvider,
  Aead,
  X25519KeyPair,
  Ed25519KeyPair,
  Ed25519PublicKey,
  ScryptParams,
} from './crypto/provider.js';
export { nodeCryptoProvider } from './crypto/node.js';
export { sodiumCryptoProvider, sodiumLoadError } from './crypto/sodium.js';
export { defaultCryptoProvider } from './crypto/default.js';
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
export type { SaveIdentityOptions, LoadIdentityOptions } from './identity/key-file.js';
export {
  saveIdentity,
  loadIdentity,
  loadOrCreateIdentity,
  DEFAULT_KEY_FILE_SCRYPT,
} from './identity/key-file.js';

export type { EnvelopeSigner, VerifyEnvelopeOptions } from './envelope.js';
export { envelopeSigningBytes, signEnvelope, verifyEnvelope } from './envelope.js';

export type {
  Network,
  CreateNetworkInit,
  NetworkComponents,
  VerifyNetworkMetadataOptions,
} from './network/metadata.js';
export { createNetwork, verifyNetworkMetadata, NETWORK_ID_BYTES } from './network/metadata.js';
export type {
  IssueTokenInit,
  RevocationListInit,
  TokenComponents,
  TokenVerifier,
  TokenVerifierInit,
  VerifiedToken,
} from './network/token.js';
export {
  issueToken,
  createRevocationList,
  createTokenVerifier,
  DEFAULT_CLOCK_SKEW_MS,
  TOKEN_ID_BYTES,
} from './network/token.js';

export { NOISE_PROTOCOL_NAME, NoiseHandshake } from './noise/handshake-state.js';
export type { NoiseHandshakeInit, NoiseSplit } from './noise/handshake-state.js';
export { CipherState } from './noise/cipher-state.js';

export type { SecureSession, SecureSessionInit, SecureSessionStats } from './session/session.js';
export {
  createSecureSession,
  MAX_PLAINTEXT_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_OVERHEAD_BYTES,
  DEFAULT_REKEY_AFTER_MESSAGES,
} from './session/session.js';
export type { NativeAead } from './crypto/native.js';
export { nativeAead, nativeAeadError } from './crypto/native.js';
export type { SecureStreamOptions } from './session/secure-stream.js';
export { createSecureStream } from './session/secure-stream.js';

export type { NoiseStaticKey } from './handshake/static-key.js';
export { createNoiseStaticKey, staticKeySigningBytes } from './handshake/static-key.js';
export type {
  AuthenticatedRemote,
  HandshakeOptions,
  HandshakeResult,
} from './handshake/handshake.js';
export {
  performHandshake,
  handshakePrologue,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES,
} from './handshake/handshake.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/aecomms', layer: 'core' } as const;
