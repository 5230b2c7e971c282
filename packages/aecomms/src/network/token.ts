// Access tokens and revocation lists: admin-signed envelopes of `AccessToken` and
// `RevocationList` (@detr/protocol), and the verifier the handshake consults.
import type { Clock, PeerId } from '@detr/interface';
import { systemClock } from '@detr/interface';
import { AccessToken, MessageType, RevocationList, SignedEnvelope } from '@detr/protocol';
import { defaultCryptoProvider } from '../crypto/default.js';
import {
  DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
  VerifiedSignatures,
} from '../crypto/verify-cache.js';
import type { CryptoProvider, Ed25519PublicKey } from '../crypto/provider.js';
import { envelopeSigningBytes, signEnvelope, type EnvelopeSigner } from '../envelope.js';
import { TokenError } from '../errors.js';
import { peerIdFromBytes } from '../identity/peer-id.js';
import { NETWORK_ID_BYTES, type Network } from './metadata.js';

/** Default of {@link TokenVerifierInit.clockSkewMs}: one minute. */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;
/** Length of a token id made by {@link issueToken}. */
export const TOKEN_ID_BYTES = 16;

const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What {@link issueToken} needs. */
export interface IssueTokenInit {
  /** The network the token admits to. */
  networkId: Uint8Array;
  /** The peer the token is bound to. */
  peer: PeerId;
  /** End of validity (exclusive), ms since the epoch. Required: tokens always expire. */
  expiresAtMs: number;
  /**
   * Start of validity, ms since the epoch.
   *
   * @default clock.now()
   */
  notBeforeMs?: number;
  /**
   * The token id (1–32 bytes), the handle a revocation list names.
   *
   * @default 16 random bytes
   */
  tokenId?: Uint8Array;
  /**
   * Capabilities granted, e.g. `'relay'` (at most 32, each at most 64 bytes).
   *
   * @default []
   */
  capabilities?: readonly string[];
}

/** Injected dependencies of token functions. */
export interface TokenComponents {
  /** @default systemClock */
  clock?: Clock;
  /** @default defaultCryptoProvider (sodium when it loads, else node:crypto) */
  provider?: CryptoProvider;
}

/**
 * Issues an access token: an `AccessToken` signed by an admin key.
 *
 * @throws {RangeError} when a field breaks the schema limits (see @detr/protocol), or when
 * `expiresAtMs` is not after `notBeforeMs`
 * @example
 * ```ts
 * const token = issueToken(admin, {
 *   networkId: network.networkId, peer: member.peerId, expiresAtMs: Date.now() + 30 * 86_400_000,
 * })
 * ```
 */
export function issueToken(
  admin: EnvelopeSigner,
  init: IssueTokenInit,
  components: TokenComponents = {},
): SignedEnvelope {
  const provider = components.provider ?? defaultCryptoProvider;
  const clock = components.clock ?? systemClock;
  const notBeforeMs = init.notBeforeMs ?? clock.now();
  if (!(init.expiresAtMs > notBeforeMs))
    throw new RangeError('expiresAtMs must be after notBeforeMs');
  const body = AccessToken.encode({
    tokenId: init.tokenId ?? provider.randomBytes(TOKEN_ID_BYTES),
    networkId: init.networkId,
    peer: init.peer.bytes,
    notBeforeMs,
    expiresAtMs: init.expiresAtMs,
    capabilities: init.capabilities?.slice() ?? [],
  });
  return signEnvelope(admin, MessageType.AccessToken, body);
}

/** What {@link createRevocationList} needs. */
export interface RevocationListInit {
  networkId: Uint8Array;
  /** Sequence number: a verifier keeps the list with the highest one. */
  seq: number;
  /** Ids of the revoked tokens. */
  revokedTokenIds: readonly Uint8Array[];
  /**
   * Issue time.
   *
   * @default clock.now()
   */
  issuedAtMs?: number;
}

/**
 * Creates a revocation list signed by an admin key.
 *
 * @throws {RangeError} when a field breaks the schema limits (at most 10,000 ids)
 * @example
 * ```ts
 * const list = createRevocationList(admin, { networkId, seq: 2, revokedTokenIds: [stolen.tokenId] })
 * verifier.updateRevocationList(list)
 * ```
 */
export function createRevocationList(
  admin: EnvelopeSigner,
  init: RevocationListInit,
  components: TokenComponents = {},
): SignedEnvelope {
  const clock = components.clock ?? systemClock;
  const body = RevocationList.encode({
    networkId: init.networkId,
    seq: init.seq,
    revokedTokenIds: init.revokedTokenIds.slice(),
    issuedAtMs: init.issuedAtMs ?? clock.now(),
  });
  return signEnvelope(admin, MessageType.RevocationList, body);
}

/** A token that passed verification. */
export interface VerifiedToken {
  readonly tokenId: Uint8Array;
  readonly tokenIdHex: string;
  readonly networkId: Uint8Array;
  readonly peer: PeerId;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
  readonly capabilities: readonly string[];
  /** The admin key that signed it. */
  readonly issuer: Uint8Array;
}

/**
 * Checks access tokens for one network: signature by one of the network's admin keys, network id,
 * binding to the authenticated peer, validity window (with clock-skew allowance), revocation.
 * `performHandshake` calls it with the PeerId the remote proved in the handshake.
 */
export interface TokenVerifier {
  readonly networkId: Uint8Array;
  /**
   * Verifies `token` for `peer`.
   *
   * @throws {TokenError} with the failed check as `reason`
   */
  verify(token: SignedEnvelope | undefined, peer: PeerId): VerifiedToken;
  /**
   * Installs a signed revocation list if it is valid, for this network and newer (higher `seq`)
   * than the current one. Returns true when installed, false when not newer.
   *
   * @throws {TokenError} `'token-malformed'`, `'token-signature'` or `'token-network'` for a list
   * that fails verification
   */
  updateRevocationList(list: SignedEnvelope | Uint8Array): boolean;
  /** Sequence number of the installed revocation list (0 when none). */
  readonly revocationSeq: number;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierInit {
  /** The network: verified metadata, or its id and admin keys. */
  network: Network | { networkId: Uint8Array; adminKeys: readonly Uint8Array[] };
  /**
   * Allowance for clocks that disagree: a token is accepted from `notBeforeMs − skew` until
   * `expiresAtMs + skew`.
   *
   * @default 60000
   */
  clockSkewMs?: number;
  /** A signed revocation list to install at once. */
  revocationList?: SignedEnvelope | Uint8Array;
  /**
   * Admin signatures (of tokens and revocation lists) found valid that are remembered, so a
   * token seen again (a peer reconnecting) skips the Ed25519 verification. Only the signature
   * check is skipped: network, peer, validity window and revocation are checked every time.
   * 0 disables.
   *
   * @default 1024
   */
  verifiedTokenCacheEntries?: number;
}

class Verifier implements TokenVerifier {
  readonly networkId: Uint8Array;
  private readonly admins: Ed25519PublicKey[];
  private readonly clock: Clock;
  private readonly skewMs: number;
  private revoked = new Set<string>();
  private seq = 0;
  private readonly verified: VerifiedSignatures;

  constructor(components: TokenComponents, init: TokenVerifierInit) {
    const provider = components.provider ?? defaultCryptoProvider;
    this.clock = components.clock ?? systemClock;
    const { networkId, adminKeys } = init.network;
    if (!(networkId instanceof Uint8Array) || networkId.length !== NETWORK_ID_BYTES) {
      throw new RangeError('a network id has 32 bytes');
    }
    if (adminKeys.length === 0) throw new RangeError('a network needs at least one admin key');
    this.networkId = Uint8Array.from(networkId);
    this.admins = adminKeys.map((k) => provider.ed25519PublicKey(k));
    const skew = init.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    if (!Number.isFinite(skew) || skew < 0) throw new RangeError('clockSkewMs must be ≥ 0');
    this.skewMs = skew;
    const entries = init.verifiedTokenCacheEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES;
    if (!Number.isInteger(entries) || entries < 0) {
      throw new RangeError('verifiedTokenCacheEntries must be an integer ≥ 0');
    }
    this.verified = new VerifiedSignatures(entries);
    if (init.revocationList !== undefined) this.updateRevocationList(init.revocationList);
  }

  get revocationSeq(): number {
    return this.seq;
  }

  /** Checks the envelope's signature by an admin key; returns the signer. */
  private checkSigned(envelope: SignedEnvelope, payloadType: number): void {
    if (envelope.payloadType !== payloadType) throw new TokenError('token-malformed');
    const signer = envelope.signer;
    const admin = this.admins.find((a) => sameBytes(a.bytes, signer));
    if (admin === undefined) throw new TokenError('token-signature');
    const signed = envelopeSigningBytes(payloadType, envelope.body);
    const sig = envelope.signature;
    if (!this.verified.check(admin.bytes, signed, sig, () => admin.verify(signed, sig))) {
      throw new TokenError('token-signature');
    }
  }

  verify(token: SignedEnvelope | undefined, peer: PeerId): VerifiedToken {
    if (token === undefined) throw new TokenError('token-missing');
    this.checkSigned(token, MessageType.AccessToken);
    let body: AccessToken;
    try {
      body = AccessToken.decode(token.body);
    } catch (err) {
      throw new TokenError('token-malformed', { cause: err });
    }
    if (!sameBytes(body.networkId, this.networkId)) throw new TokenError('token-network');
    if (!sameBytes(body.peer, peer.bytes)) throw new TokenError('token-peer');
    const now = this.clock.now();
    if (body.notBeforeMs > now + this.skewMs) throw new TokenError('token-not-yet-valid');
    if (now - this.skewMs >= body.expiresAtMs) throw new TokenError('token-expired');
    const tokenIdHex = toHex(body.tokenId);
    if (this.revoked.has(tokenIdHex)) throw new TokenError('token-revoked');
    // Copies: the decoded fields are views of the handshake payload, kept with the connection.
    return Object.freeze({
      tokenId: Uint8Array.from(body.tokenId),
      tokenIdHex,
      networkId: Uint8Array.from(body.networkId),
      peer: peerIdFromBytes(body.peer),
      notBeforeMs: body.notBeforeMs,
      expiresAtMs: body.expiresAtMs,
      capabilities: Object.freeze(body.capabilities.slice()),
      issuer: Uint8Array.from(token.signer),
    });
  }

  updateRevocationList(signed: SignedEnvelope | Uint8Array): boolean {
    let envelope: SignedEnvelope;
    try {
      envelope = signed instanceof Uint8Array ? SignedEnvelope.decode(signed) : signed;
    } catch (err) {
      throw new TokenError('token-malformed', { cause: err });
    }
    this.checkSigned(envelope, MessageType.RevocationList);
    let list: RevocationList;
    try {
      list = RevocationList.decode(envelope.body);
    } catch (err) {
      throw new TokenError('token-malformed', { cause: err });
    }
    if (!sameBytes(list.networkId, this.networkId)) throw new TokenError('token-network');
    if (list.seq <= this.seq) return false;
    this.revoked = new Set(list.revokedTokenIds.map(toHex));
    this.seq = list.seq;
    return true;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/**
 * A token verifier for one network.
 *
 * @throws {RangeError} for a network id that is not 32 bytes, no admin keys, a negative skew
 * @throws {TokenError} when `init.revocationList` fails verification
 * @example
 * ```ts
 * const verifier = createTokenVerifier({ clock }, { network, clockSkewMs: 30_000 })
 * const info = verifier.verify(envelope, peerId) // or TokenError
 * ```
 */
export function createTokenVerifier(
  components: TokenComponents,
  init: TokenVerifierInit,
): TokenVerifier {
  return new Verifier(components, init);
}
