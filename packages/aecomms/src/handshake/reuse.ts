// What every handshake of a transport would otherwise build again the same way: our encoded
// payload (per static key, while token, versions and features stay the same) and, per network id,
// the Noise prologue and the id's hex text. Each is checked against what it was made from.
import type { SignedEnvelope } from '@detr/protocol';
import { HandshakePayload } from '@detr/protocol';
import type { NoiseStaticKey } from './static-key.js';

const PROLOGUE_PREFIX = new TextEncoder().encode('detr-noise-v1:');

/** An empty feature list, shared. */
export const NO_FEATURES: readonly string[] = Object.freeze([]);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The Noise prologue: `"detr-noise-v1:"` ‖ network id. Peers of different networks never agree.
 *
 * @example
 * ```ts
 * const prologue = handshakePrologue(network.networkId)
 * ```
 */
export function handshakePrologue(networkId: Uint8Array): Uint8Array {
  const out = new Uint8Array(PROLOGUE_PREFIX.length + networkId.length);
  out.set(PROLOGUE_PREFIX, 0);
  out.set(networkId, PROLOGUE_PREFIX.length);
  return out;
}

/** What a handshake needs of its network id (read-only: the prologue is only hashed). */
export interface NetworkBits {
  readonly prologue: Uint8Array;
  /** The id in hex, as `RemoteInfo.networkId`: one string for every connection of a network. */
  readonly idText: string;
}

const networks = new WeakMap<Uint8Array, NetworkBits>();

/** The prologue and hex text of network id `id`, made once (again if its bytes changed). */
export function networkBits(id: Uint8Array): NetworkBits {
  let bits = networks.get(id);
  if (bits === undefined || !bytesEqual(bits.prologue.subarray(PROLOGUE_PREFIX.length), id)) {
    bits = { prologue: handshakePrologue(id), idText: Buffer.from(id).toString('hex') };
    networks.set(id, bits);
  }
  return bits;
}

/** Our encoded payload and what it was encoded from. */
interface EncodedPayload {
  token: SignedEnvelope | undefined;
  versions: readonly number[];
  features: readonly string[];
  bytes: Uint8Array;
}

/** The last payload encoded for each static key (a transport sends the same one every time). */
const payloads = new WeakMap<NoiseStaticKey, EncodedPayload>();

/**
 * Our handshake payload, encoded (a RangeError for a field over its schema limit). Reused while
 * the static key, the token (the same object), versions and features stay the same.
 */
export function ownPayload(
  identityKey: Uint8Array,
  staticKey: NoiseStaticKey,
  token: SignedEnvelope | undefined,
  versions: readonly number[],
  features: readonly string[] = NO_FEATURES,
): Uint8Array {
  const last = payloads.get(staticKey);
  if (
    last !== undefined &&
    last.token === token &&
    sameList(last.versions, versions) &&
    sameList(last.features, features)
  ) {
    return last.bytes;
  }
  const bytes = HandshakePayload.encode({
    identityKey,
    identitySig: staticKey.identitySig,
    ...(token !== undefined ? { token } : {}),
    versions: versions.slice(),
    features: features.slice(),
  });
  payloads.set(staticKey, {
    token,
    versions: Object.freeze(versions.slice()),
    features: Object.freeze(features.slice()),
    bytes,
  });
  return bytes;
}
