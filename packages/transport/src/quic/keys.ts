// Identities on the QUIC wire: libp2p's TLS certificate extension carries a libp2p public key,
// and the binding reports the remote as a base58 libp2p peer id. A detr identity is an Ed25519
// key, so both conversions are a fixed protobuf prefix around the 32-byte key.
import { QuicIdentityError } from '../errors.js';

/** libp2p `PrivateKey { Type = Ed25519, Data = seed ‖ public key }`. */
const PRIVATE_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x40);
/** identity multihash (0x00, length 36) of libp2p `PublicKey { Type = Ed25519, Data(32) }`. */
const PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_INDEX = new Map([...B58].map((c, i) => [c, i]));

/**
 * The libp2p private-key protobuf of an Ed25519 identity, for the binding's TLS certificate.
 *
 * @throws {RangeError} unless `seed` and `publicKey` are 32 bytes each
 * @example
 * ```ts
 * const proto = libp2pPrivateKey(identity.exportSeed(), identity.publicKey)
 * ```
 */
export function libp2pPrivateKey(seed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (seed.length !== 32 || publicKey.length !== 32) {
    throw new RangeError('an Ed25519 seed and public key are 32 bytes each');
  }
  const out = new Uint8Array(68);
  out.set(PRIVATE_PREFIX, 0);
  out.set(seed, 4);
  out.set(publicKey, 36);
  return out;
}

/** Decodes base58btc; undefined for any character outside the alphabet. */
export function base58Decode(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 128) return undefined;
  const bytes: number[] = [];
  for (const ch of text) {
    let carry = B58_INDEX.get(ch);
    if (carry === undefined) return undefined;
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] as number) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i] as number;
  return out;
}

/** Encodes base58btc. */
export function base58Encode(data: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of data) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] as number) << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '';
  for (let i = 0; i < data.length && data[i] === 0; i++) out += '1';
  for (let i = digits.length - 1; i >= 0; i--) out += B58[digits[i] as number];
  return out;
}

/** The libp2p peer id text of an Ed25519 public key. */
export function libp2pPeerIdText(publicKey: Uint8Array): string {
  const mh = new Uint8Array(PEER_ID_PREFIX.length + 32);
  mh.set(PEER_ID_PREFIX, 0);
  mh.set(publicKey, PEER_ID_PREFIX.length);
  return base58Encode(mh);
}

/**
 * The 32-byte Ed25519 key the remote authenticated with, from the binding's remote multiaddr.
 *
 * @throws {QuicIdentityError} when the address names no peer, or a key that is not Ed25519
 */
export function remoteKeyFromMultiaddr(multiaddr: string): Uint8Array {
  const m = /\/p2p\/([1-9A-HJ-NP-Za-km-z]+)$/.exec(multiaddr);
  const mh = m === null ? undefined : base58Decode(m[1] as string);
  if (mh === undefined || mh.length !== PEER_ID_PREFIX.length + 32) {
    throw new QuicIdentityError('The QUIC peer did not present an Ed25519 identity');
  }
  for (let i = 0; i < PEER_ID_PREFIX.length; i++) {
    if (mh[i] !== PEER_ID_PREFIX[i]) {
      throw new QuicIdentityError('The QUIC peer did not present an Ed25519 identity');
    }
  }
  return mh.slice(PEER_ID_PREFIX.length);
}

/** `ip` and `port` of the remote multiaddr (`/ip4/…/udp/…/quic-v1/…`). */
export function remoteHostPort(multiaddr: string): { family: 4 | 6; host: string; port: number } {
  const m = /^\/ip([46])\/([^/]+)\/udp\/(\d+)\//.exec(multiaddr);
  if (m === null) throw new QuicIdentityError('Unexpected remote address from the QUIC binding');
  return { family: m[1] === '4' ? 4 : 6, host: m[2] as string, port: Number(m[3]) };
}
