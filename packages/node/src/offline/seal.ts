// Offline delivery, the sealing (seed 001): a message for a peer that cannot be reached is sealed
// to that peer's key before it goes into the DHT (mailbox.ts).
//
// Sealing, ephemeral-static: the recipient's X25519 key is derived from its Ed25519 identity
// (public: the birational map u = (1 + y) / (1 − y) mod p; private: the clamped first half of
// SHA-512 of the seed, as RFC 8032 derives the Ed25519 scalar). The sender makes an ephemeral
// X25519 pair; key = SHA-256("detr-offline-v1" ‖ shared ‖ ephemeral ‖ recipientX);
// ChaCha20-Poly1305 with a zero nonce (each key is used once), associated data = recipient ‖ id.
import { createHash, randomBytes } from 'node:crypto';
import type { PeerId } from '@detr/interface';
import { nodeCryptoProvider, type CryptoProvider, type Identity } from '@detr/aecomms';
import { MsgData, OfflineMessage, Qos } from '@detr/protocol';

const P = 2n ** 255n - 19n;
const DOMAIN = new TextEncoder().encode('detr-offline-v1');
const ZERO_NONCE = new Uint8Array(12);

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b %= P;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}

/**
 * The X25519 public key (Montgomery u) of an Ed25519 public key.
 *
 * @throws {RangeError} for a key that does not have 32 bytes or maps to no valid point
 */
export function x25519PublicFromEd25519(ed: Uint8Array): Uint8Array {
  if (ed.length !== 32) throw new RangeError('Ed25519 public keys have 32 bytes');
  const le = Uint8Array.from(ed);
  le[31] = (le[31] as number) & 0x7f;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(le[i] as number);
  if (y >= P || y === 1n) throw new RangeError('not a valid Ed25519 public key');
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P;
  const out = new Uint8Array(32);
  let v = u;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The X25519 private scalar of an Ed25519 seed (clamped by the X25519 function). */
export function x25519PrivateFromEd25519Seed(seed: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32));
}

function kdf(
  provider: CryptoProvider,
  shared: Uint8Array,
  eph: Uint8Array,
  rx: Uint8Array,
): Uint8Array {
  return provider.sha256([DOMAIN, shared, eph, rx]);
}

/**
 * Seals `channel`/`data` for `recipient`.
 *
 * @example
 * ```ts
 * const bytes = sealOffline(me, recipient, 'chat', data, Date.now() + ttlMs)
 * ```
 */
export function sealOffline(
  sender: PeerId,
  recipient: PeerId,
  channel: string,
  data: Uint8Array,
  expiresAtMs: number,
  provider: CryptoProvider = nodeCryptoProvider,
): Uint8Array {
  const rx = x25519PublicFromEd25519(recipient.publicKey);
  const eph = provider.generateX25519();
  const key = kdf(provider, eph.dh(rx), eph.publicKey, rx);
  const messageId = randomBytes(16);
  const plain = MsgData.encode({ channel, seq: 0, qos: Qos.QOS_ACKNOWLEDGED, payload: data });
  const ad = Buffer.concat([recipient.bytes, messageId]);
  const sealed = Buffer.concat(provider.chacha20Poly1305(key).seal(ZERO_NONCE, ad, [plain]));
  return OfflineMessage.encode({
    messageId,
    recipient: recipient.bytes,
    sender: sender.bytes,
    ephemeralKey: eph.publicKey,
    ciphertext: sealed,
    expiresAtMs,
  });
}

/** What {@link openOffline} recovers. */
export interface OpenedOffline {
  id: string;
  sender: Uint8Array;
  channel: string;
  data: Uint8Array;
  expiresAtMs: number;
}

/**
 * Opens a sealed offline message addressed to `identity`; `undefined` when it is malformed,
 * expired, for someone else, or fails authentication.
 */
export function openOffline(
  identity: Identity,
  bytes: Uint8Array,
  nowMs: number,
): OpenedOffline | undefined {
  try {
    const m = OfflineMessage.decode(bytes);
    if (Buffer.compare(m.recipient, identity.peerId.bytes) !== 0 || m.expiresAtMs <= nowMs)
      return undefined;
    const provider = identity.provider;
    const mine = provider.x25519FromPrivateKey(x25519PrivateFromEd25519Seed(identity.exportSeed()));
    const key = kdf(provider, mine.dh(m.ephemeralKey), m.ephemeralKey, mine.publicKey);
    if (m.ciphertext.length < 16) return undefined;
    const body = m.ciphertext.subarray(0, m.ciphertext.length - 16);
    const tag = m.ciphertext.subarray(m.ciphertext.length - 16);
    const ad = Buffer.concat([m.recipient, m.messageId]);
    const plain = provider.chacha20Poly1305(key).open(ZERO_NONCE, ad, [body], tag);
    if (plain === null) return undefined;
    const inner = MsgData.decode(plain);
    return {
      id: Buffer.from(m.messageId).toString('hex'),
      sender: m.sender,
      channel: inner.channel,
      data: inner.payload,
      expiresAtMs: m.expiresAtMs,
    };
  } catch {
    return undefined;
  }
}
