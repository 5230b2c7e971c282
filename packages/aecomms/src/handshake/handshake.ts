// performHandshake: Noise XX over any Duplex, with detr's payload (identity, identity/static-key
// signature, access token, versions, features), the network id bound in the prologue, the
// expected-peer check, the connection gate and the token check. On success it returns the
// authenticated remote and a SecureSession; on any failure it destroys the stream and throws.
//
//   initiator                                  responder
//   -> e                                        (msg 1: 32 bytes, empty payload)
//   <- e, ee, s, es, {payload_R}                (initiator checks the responder, then…)
//   -> s, se, {payload_I}                       (responder checks the initiator)
//
// The initiator reveals its identity only in message 3, after it authenticated the responder, so
// it never shows its identity or token to an unexpected peer.
import type { Duplex } from 'node:stream';
import type { AbortOptions, Clock, PeerId, RemoteInfo } from '@detr/interface';
import { AbortError, TimeoutError, systemClock } from '@detr/interface';
import {
  HandshakePayload,
  NoCommonVersionError,
  SUPPORTED_VERSIONS,
  negotiateVersion,
  type SignedEnvelope,
} from '@detr/protocol';
import { defaultCryptoProvider } from '../crypto/default.js';
import { staticKeySignatureCache } from '../crypto/verify-cache.js';
import type { CryptoProvider, X25519KeyPair } from '../crypto/provider.js';
import { HandshakeError, TokenError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { peerIdFromPublicKey } from '../identity/peer-id.js';
import { NETWORK_ID_BYTES } from '../network/metadata.js';
import type { TokenVerifier, VerifiedToken } from '../network/token.js';
import { NoiseHandshake, type NoiseHandshakeInit } from '../noise/handshake-state.js';
import { MAX_NOISE_MESSAGE_BYTES } from '../noise/cipher-state.js';
import {
  createSecureSession,
  type SecureSession,
  type SecureSessionInit,
} from '../session/session.js';
import { HandshakeReader, frameHandshakeMessage } from './reader.js';
import { NO_FEATURES, bytesEqual, networkBits, ownPayload } from './reuse.js';
import { cachedNoiseStaticKey, staticKeySigningBytes, type NoiseStaticKey } from './static-key.js';

export { handshakePrologue } from './reuse.js';

/** Default of {@link HandshakeOptions.timeoutMs}. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default of {@link HandshakeOptions.maxHandshakeMessageBytes}. */
export const DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES = 8192;

const EMPTY = new Uint8Array(0);
const E_BYTES = 32;

/** The remote as authenticated by the handshake. */
export interface AuthenticatedRemote extends RemoteInfo {
  /** The verified token, or undefined on an open network (`tokenVerifier: null`). */
  readonly token: VerifiedToken | undefined;
  /** The remote's Noise static public key. */
  readonly staticKey: Uint8Array;
}

/** What {@link performHandshake} returns. */
export interface HandshakeResult {
  readonly remote: AuthenticatedRemote;
  readonly session: SecureSession;
  /**
   * Bytes read from the stream past the last handshake message (the first transport frames, if
   * the remote sent them early). Feed them to the session before anything else, e.g.
   * `createSecureStream(socket, session, { remainder })`. The stream is left paused.
   */
  readonly remainder: Uint8Array;
}

/** Options of {@link performHandshake}. */
export interface HandshakeOptions extends AbortOptions {
  /** `'initiator'` (the dialer, sends first) or `'responder'`. */
  role: 'initiator' | 'responder';
  /** The local identity. */
  identity: Identity;
  /** The network: its 32-byte id is bound into the Noise prologue. */
  network: { readonly networkId: Uint8Array };
  /** The local access token (an admin-signed envelope), sent to the remote. */
  token?: SignedEnvelope;
  /**
   * Checks the remote's token against the authenticated PeerId. `null` explicitly opts out (an
   * open network: no token required, none checked).
   */
  tokenVerifier: TokenVerifier | null;
  /** Fail unless the remote proves this identity (dialers that know whom they dial). */
  expectedPeer?: PeerId;
  /**
   * The connection gate, called once the remote's identity is authenticated and before the
   * handshake completes (and before its token is checked); false or a rejection refuses it.
   */
  allowPeer?: (peer: PeerId) => boolean | Promise<boolean>;
  /**
   * Protocol versions offered; both sides agree on the highest common one.
   *
   * @default SUPPORTED_VERSIONS of @detr/protocol
   */
  versions?: readonly number[];
  /**
   * Features advertised to the remote.
   *
   * @default []
   */
  features?: readonly string[];
  /**
   * Time limit of the whole handshake.
   *
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Largest handshake message accepted (checked from the length prefix, before reading the body);
   * at most 65,535.
   *
   * @default 8192
   */
  maxHandshakeMessageBytes?: number;
  /**
   * Passed to the session: REKEY each direction after this many messages (0 disables).
   *
   * @default 65536
   */
  rekeyAfterMessages?: number;
  /**
   * Remember valid identity/static-key signatures (process-wide, per provider, at most 1,024) so
   * a peer seen again is not verified again: its signature over the same static key is the same
   * bytes. false verifies every time.
   *
   * @default true
   */
  cacheVerifiedSignatures?: boolean;
  /**
   * The local Noise static key.
   *
   * @default one per identity and provider, created on first use and cached for the process
   */
  staticKey?: NoiseStaticKey;
  /**
   * Crypto provider.
   *
   * @default defaultCryptoProvider (sodium when it loads, else node:crypto)
   */
  provider?: CryptoProvider;
  /** @default systemClock */
  clock?: Clock;
  /** A fixed ephemeral key (tests only); by default a fresh one per handshake. */
  ephemeralKey?: X25519KeyPair;
}

function checkOptions(o: HandshakeOptions): void {
  if (o.role !== 'initiator' && o.role !== 'responder') {
    throw new TypeError("role must be 'initiator' or 'responder'");
  }
  const id = o.network?.networkId;
  if (!(id instanceof Uint8Array) || id.length !== NETWORK_ID_BYTES) {
    throw new TypeError('network.networkId must be 32 bytes');
  }
  if (o.tokenVerifier === undefined) {
    throw new TypeError('tokenVerifier is required (null for an open network)');
  }
  if (o.tokenVerifier !== null && !bytesEqual(o.tokenVerifier.networkId, id)) {
    throw new TypeError('tokenVerifier belongs to another network');
  }
  const max = o.maxHandshakeMessageBytes ?? DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES;
  if (!Number.isInteger(max) || max < 128 || max > MAX_NOISE_MESSAGE_BYTES) {
    throw new RangeError('maxHandshakeMessageBytes must be an integer in 128..65535');
  }
  const t = o.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (!Number.isFinite(t) || t <= 0) throw new RangeError('timeoutMs must be > 0');
}

/** Writes a handshake message, unless the handshake was stopped or the stream is gone. */
function send(stream: Duplex, reader: HandshakeReader, message: Uint8Array): void {
  reader.check();
  if (stream.destroyed || stream.writableEnded) throw new HandshakeError('closed');
  stream.write(frameHandshakeMessage(message));
}

interface Checked {
  peer: PeerId;
  version: number;
  features: readonly string[];
  token: VerifiedToken | undefined;
}

/** Authenticates the remote's payload; throws HandshakeError with the local reason. */
async function checkRemote(
  payloadBytes: Uint8Array,
  remoteStatic: Uint8Array,
  o: HandshakeOptions,
  provider: CryptoProvider,
  guard: () => void,
): Promise<Checked> {
  let payload: HandshakePayload;
  try {
    payload = HandshakePayload.decode(payloadBytes);
  } catch (err) {
    throw new HandshakeError('malformed', { cause: err });
  }
  const signed = staticKeySigningBytes(remoteStatic);
  // Bound, not a closure: called only when the signature is not cached already.
  const verify: () => boolean = provider.ed25519Verify.bind(
    provider,
    payload.identityKey,
    signed,
    payload.identitySig,
  );
  if (
    !(o.cacheVerifiedSignatures === false
      ? verify()
      : staticKeySignatureCache(provider).check(
          payload.identityKey,
          signed,
          payload.identitySig,
          verify,
        ))
  ) {
    throw new HandshakeError('identity-signature');
  }
  // The remote is authenticated from here on: every failure names it (a transport reports it to
  // the peer scorer).
  return checkAuthenticated(payload, peerIdFromPublicKey(payload.identityKey), o, guard);
}

/** The checks after the identity signature: expected peer, gate, token, version. */
async function checkAuthenticated(
  payload: HandshakePayload,
  peer: PeerId,
  o: HandshakeOptions,
  guard: () => void,
): Promise<Checked> {
  if (o.expectedPeer !== undefined && !o.expectedPeer.equals(peer)) {
    throw new HandshakeError('unexpected-peer', { peer });
  }
  // A connection to ourselves (or a reflection of our own identity) is never useful.
  if (peer.equals(o.identity.peerId)) throw new HandshakeError('unexpected-peer', { peer });
  if (o.allowPeer !== undefined) {
    let allowed: boolean;
    try {
      allowed = await o.allowPeer(peer);
    } catch (err) {
      throw new HandshakeError('peer-refused', { cause: err, peer });
    }
    guard();
    if (allowed !== true) throw new HandshakeError('peer-refused', { peer });
  }
  let token: VerifiedToken | undefined;
  if (o.tokenVerifier !== null) {
    try {
      token = o.tokenVerifier.verify(payload.token, peer);
    } catch (err) {
      if (err instanceof TokenError) throw new HandshakeError(err.reason, { cause: err, peer });
      throw new HandshakeError('token-verifier', { cause: err, peer });
    }
  }
  let version: number;
  try {
    version = negotiateVersion(o.versions ?? SUPPORTED_VERSIONS, payload.versions);
  } catch (err) {
    if (err instanceof NoCommonVersionError)
      throw new HandshakeError('version', { cause: err, peer });
    throw err;
  }
  const features =
    payload.features.length === 0 ? NO_FEATURES : Object.freeze(payload.features.slice());
  return { peer, version, features, token };
}

/**
 * Runs the Noise XX handshake as initiator or responder over any Duplex (TCP socket, QUIC
 * stream, in-memory pair) and authenticates the remote: identity/static-key signature, expected
 * PeerId, connection gate, access token, protocol version. On success the stream is left open and
 * paused; use the returned `session` (e.g. `createSecureStream(stream, session, { remainder })`).
 * On failure the stream is destroyed and nothing is sent to the remote beyond the handshake
 * messages already exchanged (no error message: no oracle).
 *
 * A responder that rejects the initiator (bad token, gate) closes the connection after message 3;
 * the initiator's handshake has already resolved by then and sees the stream close.
 *
 * @throws {HandshakeError} for every authentication or protocol failure (`reason` says which,
 * locally)
 * @throws {TimeoutError} after `timeoutMs`
 * @throws {AbortError} when `signal` aborts
 * @throws {TypeError|RangeError} for invalid options (before touching the stream)
 * @example
 * ```ts
 * const { remote, session, remainder } = await performHandshake(socket, {
 *   role: 'initiator', identity, network, token, tokenVerifier: verifier,
 *   expectedPeer, allowPeer: (peer) => gate.allowPeer(peer, 'outbound', address),
 * })
 * const secure = createSecureStream(socket, session, { remainder })
 * ```
 */
export async function performHandshake(
  stream: Duplex,
  options: HandshakeOptions,
): Promise<HandshakeResult> {
  checkOptions(options);
  const provider = options.provider ?? defaultCryptoProvider;
  const clock = options.clock ?? systemClock;
  const initiator = options.role === 'initiator';
  const staticKey = options.staticKey ?? cachedNoiseStaticKey(options.identity, provider);
  const maxBytes = options.maxHandshakeMessageBytes ?? DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES;
  // Encoded up front: a local misconfiguration (a field over its schema limit) is a RangeError
  // before the stream is touched.
  const payloadBytes = ownPayload(
    options.identity.publicKey,
    staticKey,
    options.token,
    options.versions ?? SUPPORTED_VERSIONS,
    options.features,
  );
  const network = networkBits(options.network.networkId);
  const reader = new HandshakeReader(stream, maxBytes);
  const guard = reader.check.bind(reader);
  const timer = clock.setTimeout(
    () => reader.stop(new TimeoutError('The handshake timed out')),
    options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  );
  const signal = options.signal;
  let onAbort: (() => void) | undefined;
  if (signal !== undefined) {
    onAbort = () => reader.stop(new AbortError(undefined, { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  try {
    guard();
    const init: NoiseHandshakeInit = {
      initiator,
      prologue: network.prologue,
      staticKey: staticKey.keyPair,
      provider,
    };
    if (options.ephemeralKey !== undefined) init.ephemeralKey = options.ephemeralKey;
    const noise = new NoiseHandshake(init);
    let checked: Checked;
    if (initiator) {
      send(stream, reader, noise.writeMessage(EMPTY));
      const m2 = await reader.read();
      const p2 = noise.readMessage(m2);
      checked = await checkRemote(
        p2,
        noise.remoteStaticKey as Uint8Array,
        options,
        provider,
        guard,
      );
      guard();
      send(stream, reader, noise.writeMessage(payloadBytes));
    } else {
      const m1 = await reader.read();
      if (m1.length !== E_BYTES) throw new HandshakeError('malformed');
      noise.readMessage(m1);
      send(stream, reader, noise.writeMessage(payloadBytes));
      const m3 = await reader.read();
      const p3 = noise.readMessage(m3);
      checked = await checkRemote(
        p3,
        noise.remoteStaticKey as Uint8Array,
        options,
        provider,
        guard,
      );
      guard();
    }
    const split = noise.split();
    const sessionInit: SecureSessionInit = {
      send: split.send,
      receive: split.receive,
      handshakeHash: split.handshakeHash,
    };
    if (options.rekeyAfterMessages !== undefined) {
      sessionInit.rekeyAfterMessages = options.rekeyAfterMessages;
    }
    const session = createSecureSession(sessionInit);
    const remainder = reader.release();
    const remote: AuthenticatedRemote = Object.freeze({
      peer: checked.peer,
      protocolVersion: checked.version,
      features: checked.features,
      networkId: network.idText,
      token: checked.token,
      staticKey: Uint8Array.from(noise.remoteStaticKey as Uint8Array),
    });
    return { remote, session, remainder };
  } catch (err) {
    reader.release();
    stream.on('error', () => {});
    stream.destroy();
    if (reader.stopped !== undefined) throw reader.stopped;
    if (err instanceof HandshakeError) throw err;
    if (err instanceof RangeError) throw new HandshakeError('malformed', { cause: err });
    throw err;
  } finally {
    timer.cancel();
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
