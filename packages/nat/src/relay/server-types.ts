// The relay service's contracts (server.ts): components, limits, counters, the service.
import type { Address, Clock, Logger, PeerId, PeerReporter, StreamHandler } from '@detr/interface';
import type { ConnectionSource } from '../signaling/service.js';

/** Injected dependencies of the relay service. */
export interface RelayServerComponents {
  peerId: PeerId;
  connections: ConnectionSource;
  /** The relay's own public addresses, put in reservations. */
  addresses(): readonly Address[];
  reporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

export interface RelayServerInit {
  /** Reservations held at once. @default 128 */
  maxReservations?: number;
  /** Lifetime of a reservation (the client renews it). @default 3600000 */
  reservationTtlMs?: number;
  /** Circuits open at once. @default 64 */
  maxCircuits?: number;
  /** Circuits open at once from or to one peer. @default 4 */
  maxCircuitsPerPeer?: number;
  /** Bytes one circuit may carry per direction; 0 = unlimited. @default 16777216 */
  circuitBytes?: number;
  /** Lifetime of one circuit; 0 = unlimited. @default 600000 */
  circuitDurationMs?: number;
  /** Time a peer has to send its request, and a target to accept a circuit. @default 10000 */
  requestTimeoutMs?: number;
}

/** Counters of the relay service. */
export interface RelayServerStats {
  reservations: number;
  reservationsRefused: number;
  circuitsOpened: number;
  circuitsRefused: number;
  circuitsCut: number;
  circuitsOpen: number;
  bytesRelayed: number;
}

export interface RelayServer {
  /** The handler of `RELAY_HOP_PROTOCOL` streams. */
  readonly handler: StreamHandler;
  readonly stats: RelayServerStats;
  /** Peers holding a live reservation. */
  reservedPeers(): PeerId[];
  /** Drops every reservation and cuts every circuit. */
  stop(): void;
}
