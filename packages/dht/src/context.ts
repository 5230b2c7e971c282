// The state shared by the DHT's modules (internal).
import type { Clock, Logger, PeerId, PeerReporter, Rng } from '@detr/interface';
import type { DhtConfig } from './config.js';
import type { DhtEmitter } from './events.js';
import type { RecordLocator } from './records/locate.js';
import type { DhtSigner, PeerIdCodec, SignatureVerifier } from './identity.js';
import type { RecordRules } from './records/record.js';
import type { RecordStore } from './records/store.js';
import type { RoutingTable } from './routing/table.js';
import type { DhtNetwork } from './rpc/network.js';

/** Counters of a DHT node; see `Dht.stats()`. */
export interface DhtStats {
  /** Peers in the routing table now. */
  peers: number;
  /** Records held for the network now, and their bytes. */
  records: number;
  recordBytes: number;
  requestsSent: number;
  requestsFailed: number;
  timeouts: number;
  requestsReceived: number;
  /** Responses or requests that were malformed or broke a rule. */
  invalidMessages: number;
  /** Records refused: invalid, stale, conflicting, or over quota. */
  recordsRefused: number;
  recordsStored: number;
  lookups: number;
  /** Peers penalised through the PeerReporter. */
  penalties: number;
}

export interface Ctx {
  readonly cfg: DhtConfig;
  readonly self: PeerId;
  readonly selfId: Uint8Array;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly reporter: PeerReporter;
  readonly network: DhtNetwork;
  readonly signer: DhtSigner;
  readonly verifier: SignatureVerifier;
  readonly peerIds: PeerIdCodec;
  readonly table: RoutingTable;
  readonly records: RecordStore;
  readonly rules: RecordRules;
  /** Where a record key is stored in the key space. */
  readonly locate: RecordLocator;
  readonly events: DhtEmitter;
  /** True when `peer` is banned (never asked, never added to the table). */
  readonly banned: (peer: PeerId) => boolean;
  readonly stats: DhtStats;
  /**
   * Bucket (common prefix length, capped at {@link TOUCHED_SLOTS} - 1) → last time a lookup went
   * there.
   */
  readonly touched: Float64Array;
  running: boolean;
  requestId: number;
}

/** Buckets tracked for refresh: prefix lengths past 63 never hold peers in practice. */
export const TOUCHED_SLOTS = 64;
