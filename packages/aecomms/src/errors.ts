// One class per failure kind, each with a stable `name` and `code`. Messages are generic on
// purpose: nothing here tells a remote peer which check failed (the remote never sees these errors
// at all; a failed handshake or channel is simply closed). The local `reason` of a
// HandshakeError is for logs and metrics only.
import { DetrError, type PeerId } from '@detr/interface';

/**
 * Why a handshake failed: a local diagnostic code for logs and metrics. It is never sent to the
 * remote, and `HandshakeError.message` does not contain it.
 */
export type HandshakeFailureReason =
  /** The remote closed or reset the stream before the handshake completed. */
  | 'closed'
  /** A handshake message was longer than `maxHandshakeMessageBytes` (checked before reading it). */
  | 'message-too-large'
  /** A handshake message had the wrong shape (length, key size, framing, payload encoding). */
  | 'malformed'
  /** A Noise operation failed: decryption of a handshake message, or a low-order DH result. */
  | 'noise'
  /** The identity key's signature over the Noise static key did not verify. */
  | 'identity-signature'
  /** The remote authenticated as a PeerId other than `expectedPeer`, or as our own identity. */
  | 'unexpected-peer'
  /** The `allowPeer` hook (connection gate) refused the remote identity. */
  | 'peer-refused'
  /** No common protocol version. */
  | 'version'
  /** The remote presented no access token although the network requires one. */
  | 'token-missing'
  /** The token's signature is not a valid signature by one of the network's admin keys. */
  | 'token-signature'
  /** The token was issued for another network id. */
  | 'token-network'
  /** The token is bound to another peer than the one that completed the handshake. */
  | 'token-peer'
  /** The token's validity window starts later (beyond the clock-skew allowance). */
  | 'token-not-yet-valid'
  /** The token expired (beyond the clock-skew allowance). */
  | 'token-expired'
  /** The token id is on the network's revocation list. */
  | 'token-revoked'
  /** The token could not be decoded. */
  | 'token-malformed'
  /** The token verifier threw something that is not a TokenError. */
  | 'token-verifier';

/**
 * The handshake failed to authenticate the remote or to agree on a session. One generic error for
 * every authentication failure: its message never says which check failed. `reason` does, for local
 * logs and metrics only. The stream was destroyed.
 *
 * @example
 * ```ts
 * try { await performHandshake(socket, options) } catch (err) {
 *   if (err instanceof HandshakeError) metrics.handshakeFailures.inc({ reason: err.reason })
 * }
 * ```
 */
export class HandshakeError extends DetrError {
  /** Local diagnostic only; never sent to the remote. */
  readonly reason: HandshakeFailureReason;
  /**
   * The remote's PeerId when it was authenticated before the failing check (its identity
   * signature over the Noise static key verified): a token, gate, expected-peer or version
   * failure. Undefined when the failure came earlier (nothing proves who the remote is).
   */
  readonly peer: PeerId | undefined;

  constructor(reason: HandshakeFailureReason, options?: { cause?: unknown; peer?: PeerId }) {
    super('Handshake failed', 'HANDSHAKE_FAILED', options);
    this.name = 'HandshakeError';
    this.reason = reason;
    this.peer = options?.peer;
  }
}

/**
 * A secure-channel message failed authentication: tampered, truncated, reordered, replayed, or
 * encrypted under another key. Fatal: the session is closed and every later operation fails.
 *
 * @example
 * ```ts
 * if (err instanceof DecryptError) reporter.penalize(peer, 'invalid-message')
 * ```
 */
export class DecryptError extends DetrError {
  constructor(message = 'Message authentication failed', options?: { cause?: unknown }) {
    super(message, 'DECRYPT_FAILED', options);
    this.name = 'DecryptError';
  }
}

/**
 * The byte stream ended in the middle of a secure-channel message, or (for a secure stream)
 * without the authenticated end-of-stream marker. Fatal, like {@link DecryptError}.
 *
 * @example
 * ```ts
 * secure.on('error', (err) => { if (err instanceof TruncatedStreamError) log.warn('cut off') })
 * ```
 */
export class TruncatedStreamError extends DetrError {
  constructor(message = 'The secure stream was truncated', options?: { cause?: unknown }) {
    super(message, 'TRUNCATED_STREAM', options);
    this.name = 'TruncatedStreamError';
  }
}

/**
 * A secure-channel frame header announced an impossible length (shorter than the 16-byte tag).
 * Fatal, like {@link DecryptError}.
 *
 * @example
 * ```ts
 * if (err instanceof MalformedFrameError) reporter.penalize(peer, 'protocol-violation')
 * ```
 */
export class MalformedFrameError extends DetrError {
  constructor(message = 'Malformed secure-channel frame', options?: { cause?: unknown }) {
    super(message, 'MALFORMED_FRAME', options);
    this.name = 'MalformedFrameError';
  }
}

/**
 * A cipher state used its last nonce (2^64 − 1 is reserved by Noise). The session must be
 * replaced by a new handshake. Unreachable in practice, but enforced.
 *
 * @example
 * ```ts
 * if (err instanceof NonceExhaustedError) reconnect()
 * ```
 */
export class NonceExhaustedError extends DetrError {
  constructor(message = 'Nonce space exhausted', options?: { cause?: unknown }) {
    super(message, 'NONCE_EXHAUSTED', options);
    this.name = 'NonceExhaustedError';
  }
}

/** Why a token (or revocation list, or network metadata) was rejected. */
export type TokenFailureReason =
  | 'token-missing'
  | 'token-signature'
  | 'token-network'
  | 'token-peer'
  | 'token-not-yet-valid'
  | 'token-expired'
  | 'token-revoked'
  | 'token-malformed';

/**
 * An access token, revocation list or network metadata failed verification. `reason` names the
 * check; inside a handshake it becomes the local `reason` of a generic {@link HandshakeError}.
 *
 * @example
 * ```ts
 * try { verifier.verify(envelope, peer) } catch (err) {
 *   if (err instanceof TokenError && err.reason === 'token-expired') renew()
 * }
 * ```
 */
export class TokenError extends DetrError {
  readonly reason: TokenFailureReason;

  constructor(reason: TokenFailureReason, options?: { cause?: unknown }) {
    super('Access token rejected', 'TOKEN_REJECTED', options);
    this.name = 'TokenError';
    this.reason = reason;
  }
}

/** Why a key file could not be loaded. */
export type KeyFileFailureReason =
  /** Not a detr key file, unparseable, checksum mismatch, or inconsistent content. */
  | 'corrupt'
  /** The file is encrypted and no passphrase was given. */
  | 'passphrase-required'
  /** The checksum matches but decryption failed: the passphrase is wrong. */
  | 'wrong-passphrase'
  /** The file is readable by group or others (POSIX); fix with `chmod 600`. */
  | 'insecure-permissions'
  /** The file's format version or algorithms are not supported. */
  | 'unsupported';

/**
 * A key file could not be loaded; `reason` says why (corrupt file, wrong passphrase, …).
 *
 * @example
 * ```ts
 * try { identity = await loadIdentity(path, { passphrase }) } catch (err) {
 *   if (err instanceof KeyFileError && err.reason === 'wrong-passphrase') askAgain()
 * }
 * ```
 */
export class KeyFileError extends DetrError {
  readonly reason: KeyFileFailureReason;

  constructor(reason: KeyFileFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, 'KEY_FILE', options);
    this.name = 'KeyFileError';
    this.reason = reason;
  }
}

/**
 * Text or bytes that are not a valid PeerId (wrong prefix, alphabet, length, version, checksum,
 * or a non-canonical encoding).
 *
 * @example
 * ```ts
 * try { peerIdFromString(argv.peer) } catch (err) {
 *   if (err instanceof InvalidPeerIdError) usage()
 * }
 * ```
 */
export class InvalidPeerIdError extends TypeError {
  readonly code = 'INVALID_PEER_ID';

  constructor(why: string) {
    super(`Invalid PeerId: ${why}`);
    this.name = 'InvalidPeerIdError';
  }
}

/** Why network metadata was rejected. */
export type NetworkMetadataFailureReason = 'malformed' | 'signature' | 'network' | 'untrusted';

/**
 * Network metadata failed verification: not decodable, not signed by one of its admin keys (or
 * by a trusted one), or for another network id.
 *
 * @example
 * ```ts
 * try { verifyNetworkMetadata(bytes) } catch (err) {
 *   if (err instanceof NetworkMetadataError) log.error({ reason: err.reason }, 'bad network file')
 * }
 * ```
 */
export class NetworkMetadataError extends DetrError {
  readonly reason: NetworkMetadataFailureReason;

  constructor(reason: NetworkMetadataFailureReason, options?: { cause?: unknown }) {
    super('Network metadata rejected', 'NETWORK_METADATA_REJECTED', options);
    this.name = 'NetworkMetadataError';
    this.reason = reason;
  }
}
