/**
 * @packageDocumentation
 * @detr/dht: a network-scoped Kademlia DHT with signed records and presence. The DHT logic talks
 * to a small RPC contract ({@link DhtNetwork}); it runs over detr streams
 * ({@link createStreamNetwork}) or over an in-process simulated network ({@link createSimNetwork})
 * with the same code.
 */
export { createDht, dhtProtocol } from './dht.js';
export type {
  AnnounceOptions,
  ClosestPeers,
  DeleteOptions,
  DhtBanList,
  Dht,
  DhtComponents,
  DhtPeer,
  DhtValue,
  FindClosestOptions,
  FindPeerOptions,
  GetOptions,
  HeldOptions,
  LookupOptions,
  PeerPresence,
  PutOptions,
  PutResult,
} from './types.js';
export type { DhtInit, DhtConfig } from './config.js';
export { DHT_DEFAULTS, resolveConfig } from './config.js';
export type { DhtStats } from './context.js';
export type { DhtEvents, DhtListener } from './events.js';
export type { LookupStats } from './query/lookup.js';
export type { IpDiversityInit } from './routing/table.js';
export type { DhtPeerSource } from './maintenance/bootstrap.js';
export {
  DhtTimeoutError,
  DhtUnreachableError,
  DhtInvalidResponseError,
  DhtNoPeersError,
  InvalidRecordError,
  QuotaExceededError,
} from './errors.js';
export type { InvalidRecordReason } from './errors.js';
export type { DhtSigner, SignatureVerifier, PeerIdCodec, Ed25519VerifierInit } from './identity.js';
export { aecommsPeerIds, createEd25519Verifier } from './identity.js';
export type { DhtRecordView, RecordValidator, RecordFields } from './records/record.js';
export { namespaceOf, openRecord, signRecord, supersedes } from './records/record.js';
export { recordKeyPeer, PEER_ID_BYTES } from './records/locate.js';
export {
  MAX_MUTABLE_NAME_BYTES,
  mutableKey,
  mutableValidator,
  presenceKey,
  presenceValidator,
} from './records/validators.js';
export { kadIdOfPeer, kadIdOfRecordKey, ID_BYTES } from './keys.js';
export type {
  DhtNetwork,
  RpcHandler,
  RpcInbound,
  RpcReply,
  RpcRequestOptions,
  RpcTarget,
} from './rpc/network.js';
export type {
  StreamDialer,
  StreamNetwork,
  StreamNetworkComponents,
  StreamNetworkInit,
} from './rpc/stream-network.js';
export { createStreamNetwork } from './rpc/stream-network.js';
export type { Testnet, TestnetInit, TestnetNode } from './testnet.js';
export { createTestnet } from './testnet.js';
export type { SimClock, SimNetwork, SimNetworkInit, SimLink } from './sim/network.js';
export { createSimClock, createSimNetwork } from './sim/network.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/dht', layer: 'net' } as const;
