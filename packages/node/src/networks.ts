// Networks (seed 000): metadata signed by an admin key, access tokens bound to one peer and one
// network, and a signed revocation list. Wire forms are @detr/protocol messages in aecomms'
// signed envelopes; the text form of each is base64url of the envelope.
import { randomBytes } from 'node:crypto';
import type { PeerId } from '@detr/interface';
import {
  AccessToken,
  MessageType,
  NetworkMetadata,
  RevocationList,
  SignedEnvelope,
} from '@detr/protocol';
import { signEnvelope, verifyEnvelope, type Identity } from '@detr/aecomms';
import { InvalidTokenError } from './errors.js';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A network's signed metadata, decoded. */
export interface Network {
  readonly id: string;
  readonly name: string;
  readonly adminKeys: readonly Uint8Array[];
  readonly createdAtMs: number;
  /** The signed envelope, base64url. */
  readonly text: string;
}

/** A verified token's fields. */
export interface TokenInfo {
  readonly tokenId: string;
  readonly networkId: string;
  readonly peer: Uint8Array;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
  readonly capabilities: readonly string[];
}

/** A revocation list, decoded. */
export interface Revocations {
  readonly networkId: string;
  readonly seq: number;
  readonly revoked: ReadonlySet<string>;
  readonly text: string;
}

function decodeEnvelope(text: string, type: number): SignedEnvelope {
  let env: SignedEnvelope;
  try {
    env = SignedEnvelope.decode(unb64(text));
  } catch {
    throw new InvalidTokenError('malformed envelope');
  }
  if (!verifyEnvelope(env, { payloadType: type })) throw new InvalidTokenError('bad signature');
  return env;
}

/**
 * Creates a network with `admin` as its admin key.
 *
 * @example
 * ```ts
 * const network = createNetwork(adminIdentity, 'lab', Date.now())
 * ```
 */
export function createNetwork(admin: Identity, name: string, nowMs = Date.now()): Network {
  const body = NetworkMetadata.encode({
    networkId: randomBytes(32),
    name,
    adminKeys: [admin.peerId.publicKey],
    createdAtMs: nowMs,
  });
  return parseNetwork(
    b64(SignedEnvelope.encode(signEnvelope(admin, MessageType.NetworkMetadata, body))),
  );
}

/**
 * Parses and verifies network metadata (signed by one of its own admin keys).
 *
 * @throws {InvalidTokenError} when it is malformed or not signed by an admin
 */
export function parseNetwork(text: string): Network {
  const env = decodeEnvelope(text, MessageType.NetworkMetadata);
  let m: NetworkMetadata;
  try {
    m = NetworkMetadata.decode(env.body);
  } catch {
    throw new InvalidTokenError('malformed network metadata');
  }
  if (!m.adminKeys.some((k) => Buffer.compare(k, env.signer) === 0)) {
    throw new InvalidTokenError('metadata not signed by an admin');
  }
  return {
    id: hex(m.networkId),
    name: m.name,
    adminKeys: m.adminKeys,
    createdAtMs: m.createdAtMs,
    text,
  };
}

/**
 * Issues a token for `peer` (admin side).
 *
 * @throws {InvalidTokenError} when `admin` is not an admin of `network`
 * @example
 * ```ts
 * const token = issueToken(admin, network, peerId, { ttlMs: 30 * 86_400_000 })
 * ```
 */
export function issueToken(
  admin: Identity,
  network: Network,
  peer: PeerId,
  options: { ttlMs?: number; nowMs?: number; capabilities?: string[] } = {},
): { token: string; tokenId: string } {
  if (!network.adminKeys.some((k) => Buffer.compare(k, admin.peerId.publicKey) === 0)) {
    throw new InvalidTokenError('not an admin of this network');
  }
  const now = options.nowMs ?? Date.now();
  const tokenId = randomBytes(16);
  const body = AccessToken.encode({
    tokenId,
    networkId: Buffer.from(network.id, 'hex'),
    peer: peer.bytes,
    notBeforeMs: now - 60_000,
    expiresAtMs: now + (options.ttlMs ?? 365 * 86_400_000),
    capabilities: options.capabilities ?? [],
  });
  return {
    token: b64(SignedEnvelope.encode(signEnvelope(admin, MessageType.AccessToken, body))),
    tokenId: hex(tokenId),
  };
}

/**
 * Verifies a token for `peer` in `network` at `nowMs`, against `revocations`.
 *
 * @throws {InvalidTokenError} (one generic message: no oracle on which check failed)
 */
export function verifyToken(
  text: string,
  network: Network,
  peer: PeerId,
  revocations: Revocations | undefined,
  nowMs = Date.now(),
  skewMs = 60_000,
): TokenInfo {
  const fail = (): never => {
    throw new InvalidTokenError();
  };
  let env: SignedEnvelope;
  let t: AccessToken;
  try {
    env = decodeEnvelope(text, MessageType.AccessToken);
    t = AccessToken.decode(env.body);
  } catch {
    return fail();
  }
  if (!network.adminKeys.some((k) => Buffer.compare(k, env.signer) === 0)) fail();
  if (hex(t.networkId) !== network.id) fail();
  if (Buffer.compare(t.peer, peer.bytes) !== 0) fail();
  if (nowMs + skewMs < t.notBeforeMs || nowMs - skewMs > t.expiresAtMs) fail();
  const tokenId = hex(t.tokenId);
  if (revocations?.revoked.has(tokenId) === true) fail();
  return {
    tokenId,
    networkId: network.id,
    peer: t.peer,
    notBeforeMs: t.notBeforeMs,
    expiresAtMs: t.expiresAtMs,
    capabilities: t.capabilities,
  };
}

/**
 * A new revocation list: `previous` plus `tokenIds`, with a higher sequence number.
 *
 * @throws {InvalidTokenError} when `admin` is not an admin of `network`
 */
export function revokeTokens(
  admin: Identity,
  network: Network,
  previous: Revocations | undefined,
  tokenIds: readonly string[],
  nowMs = Date.now(),
): Revocations {
  if (!network.adminKeys.some((k) => Buffer.compare(k, admin.peerId.publicKey) === 0)) {
    throw new InvalidTokenError('not an admin of this network');
  }
  const ids = new Set([...(previous?.revoked ?? []), ...tokenIds]);
  const body = RevocationList.encode({
    networkId: Buffer.from(network.id, 'hex'),
    seq: (previous?.seq ?? 0) + 1,
    revokedTokenIds: [...ids].map((id) => Buffer.from(id, 'hex')),
    issuedAtMs: nowMs,
  });
  return parseRevocations(
    b64(SignedEnvelope.encode(signEnvelope(admin, MessageType.RevocationList, body))),
    network,
  );
}

/**
 * Parses and verifies a revocation list of `network`.
 *
 * @throws {InvalidTokenError} when malformed, for another network, or not signed by an admin
 */
export function parseRevocations(text: string, network: Network): Revocations {
  const env = decodeEnvelope(text, MessageType.RevocationList);
  if (!network.adminKeys.some((k) => Buffer.compare(k, env.signer) === 0)) {
    throw new InvalidTokenError('revocations not signed by an admin');
  }
  let r: RevocationList;
  try {
    r = RevocationList.decode(env.body);
  } catch {
    throw new InvalidTokenError('malformed revocation list');
  }
  if (hex(r.networkId) !== network.id)
    throw new InvalidTokenError('revocations of another network');
  return { networkId: network.id, seq: r.seq, revoked: new Set(r.revokedTokenIds.map(hex)), text };
}

/** A join bundle: network metadata + a token, one string to paste into `detr start --join`. */
export function encodeJoin(network: Network, token: string): string {
  return `${network.text}.${token}`;
}

/**
 * Splits a join bundle.
 *
 * @throws {InvalidTokenError} for a malformed bundle
 */
export function decodeJoin(text: string): { network: Network; token: string } {
  const [n, t, ...rest] = text.trim().split('.');
  if (n === undefined || t === undefined || rest.length > 0)
    throw new InvalidTokenError('malformed join token');
  return { network: parseNetwork(n), token: t };
}
