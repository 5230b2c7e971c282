// Network metadata: the network id, its name, its admin keys and creation time, signed by an
// admin. A node trusts the metadata it is configured with (a file or an invitation obtained out of
// band); updates must be signed by a key the node already trusts.
import { MessageType, NetworkMetadata, SignedEnvelope } from '@detr/protocol';
import type { Clock } from '@detr/interface';
import { systemClock } from '@detr/interface';
import { defaultCryptoProvider } from '../crypto/default.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { signEnvelope, verifyEnvelope, type EnvelopeSigner } from '../envelope.js';
import { NetworkMetadataError } from '../errors.js';

/** Length of a network id. */
export const NETWORK_ID_BYTES = 32;

/** Network metadata that passed {@link verifyNetworkMetadata}, with its signed envelope. */
export interface Network {
  readonly networkId: Uint8Array;
  /** Lower-case hex of `networkId` (the form `RemoteInfo.networkId` uses). */
  readonly networkIdHex: string;
  readonly name: string;
  /** Ed25519 public keys allowed to sign tokens, revocation lists and metadata updates. */
  readonly adminKeys: readonly Uint8Array[];
  readonly createdAtMs: number;
  /** The signed form, to store or hand to other nodes. */
  readonly envelope: SignedEnvelope;
}

/** What {@link createNetwork} needs. */
export interface CreateNetworkInit {
  /** Human-readable name, at most 128 UTF-8 bytes. */
  name: string;
  /**
   * The network id.
   *
   * @default 32 random bytes
   */
  networkId?: Uint8Array;
  /**
   * Further admin keys besides the creating admin's own.
   *
   * @default []
   */
  additionalAdminKeys?: readonly Uint8Array[];
  /**
   * Creation time.
   *
   * @default clock.now()
   */
  createdAtMs?: number;
}

/** Injected dependencies of the network functions. */
export interface NetworkComponents {
  /** @default systemClock */
  clock?: Clock;
  /** @default defaultCryptoProvider (sodium when it loads, else node:crypto) */
  provider?: CryptoProvider;
}

const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function toNetwork(m: NetworkMetadata, envelope: SignedEnvelope): Network {
  return Object.freeze({
    networkId: m.networkId,
    networkIdHex: toHex(m.networkId),
    name: m.name,
    adminKeys: Object.freeze(m.adminKeys.slice()),
    createdAtMs: m.createdAtMs,
    envelope,
  });
}

/**
 * Creates a network: metadata listing `admin` (and any further admin keys), signed by `admin`.
 *
 * @throws {RangeError} for a name longer than 128 bytes, a network id that is not 32 bytes, more
 * than 16 admin keys, or a key that is not 32 bytes
 * @example
 * ```ts
 * const admin = createIdentity()
 * const network = createNetwork(admin, { name: 'lab' })
 * await writeFile('network.bin', SignedEnvelope.encode(network.envelope))
 * ```
 */
export function createNetwork(
  admin: EnvelopeSigner,
  init: CreateNetworkInit,
  components: NetworkComponents = {},
): Network {
  const provider = components.provider ?? defaultCryptoProvider;
  const clock = components.clock ?? systemClock;
  const networkId = init.networkId ?? provider.randomBytes(NETWORK_ID_BYTES);
  const metadata: NetworkMetadata = {
    networkId: Uint8Array.from(networkId),
    name: init.name,
    adminKeys: [
      Uint8Array.from(admin.publicKey),
      ...(init.additionalAdminKeys ?? []).map((k) => Uint8Array.from(k)),
    ],
    createdAtMs: init.createdAtMs ?? clock.now(),
  };
  const body = NetworkMetadata.encode(metadata);
  const envelope = signEnvelope(admin, MessageType.NetworkMetadata, body);
  return toNetwork(NetworkMetadata.decode(body), envelope);
}

/** Options of {@link verifyNetworkMetadata}. */
export interface VerifyNetworkMetadataOptions extends NetworkComponents {
  /**
   * Admin keys already trusted (e.g. from the current metadata, to accept an update). When given,
   * the signer must be one of them; otherwise it must be one of the metadata's own admin keys.
   */
  trustedAdminKeys?: readonly Uint8Array[];
  /** Reject metadata of any other network id. */
  networkId?: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/** @internal True when `key` is one of `keys`. */
export function includesKey(keys: readonly Uint8Array[], key: Uint8Array): boolean {
  for (const k of keys) if (sameBytes(k, key)) return true;
  return false;
}

/**
 * Decodes and verifies signed network metadata (an encoded `SignedEnvelope` or a decoded one).
 *
 * @throws {NetworkMetadataError} reason `'malformed'` (not decodable, wrong payload type),
 * `'untrusted'` (signer not an admin / not trusted), `'signature'` (invalid signature),
 * `'network'` (another network id)
 * @example
 * ```ts
 * const network = verifyNetworkMetadata(await readFile('network.bin'))
 * ```
 */
export function verifyNetworkMetadata(
  signed: SignedEnvelope | Uint8Array,
  options: VerifyNetworkMetadataOptions = {},
): Network {
  let envelope: SignedEnvelope;
  let metadata: NetworkMetadata;
  try {
    envelope = signed instanceof Uint8Array ? SignedEnvelope.decode(signed) : signed;
    if (envelope.payloadType !== MessageType.NetworkMetadata) throw new TypeError('payload type');
    metadata = NetworkMetadata.decode(envelope.body);
  } catch (err) {
    throw new NetworkMetadataError('malformed', { cause: err });
  }
  if (metadata.adminKeys.length === 0) throw new NetworkMetadataError('malformed');
  const trusted = options.trustedAdminKeys ?? metadata.adminKeys;
  if (!includesKey(trusted, envelope.signer)) throw new NetworkMetadataError('untrusted');
  const verifyOptions = options.provider !== undefined ? { provider: options.provider } : {};
  if (!verifyEnvelope(envelope, verifyOptions)) throw new NetworkMetadataError('signature');
  if (options.networkId !== undefined && !sameBytes(options.networkId, metadata.networkId)) {
    throw new NetworkMetadataError('network');
  }
  return toNetwork(metadata, envelope);
}
