// The signaling service's contracts (service.ts): components, options, counters, the service.
import type {
  Clock,
  Connection,
  Logger,
  PeerId,
  PeerReporter,
  SharedRecords,
  StreamHandler,
} from '@detr/interface';
import type { SignalPath } from './path.js';
import type { SignalBody } from './signal.js';

/** The connections nat may use (the shape of the node's connection manager). */
export interface ConnectionSource {
  /** Open connections (to `peer` only, when given). */
  connections(peer?: PeerId): readonly Connection[];
}

export interface SignalingComponents {
  peerId: PeerId;
  connections: ConnectionSource;
  /** The DHT's records, for signaling with no connection in common. */
  records?: SharedRecords;
  reporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

export interface SignalingInit {
  /** Forward signaling between two peers we are both connected to. @default true */
  forward?: boolean;
  /** Forwarded negotiations open at once, in total. @default 64 */
  maxForwards?: number;
  /** Forwarded negotiations open at once per requesting peer. @default 4 */
  maxForwardsPerPeer?: number;
  /** Bytes a forwarded negotiation may carry per direction. @default 65536 */
  forwardBytes?: number;
  /** Lifetime of a forwarded negotiation. @default 30000 */
  forwardTimeoutMs?: number;
  /** Time the opener of a signaling stream has to send its first signal. @default 10000 */
  firstSignalTimeoutMs?: number;
  /** Poll interval of our DHT mailbox; 0 disables DHT signaling. @default 5000 */
  dhtPollIntervalMs?: number;
  /** Poll interval while one of our DHT negotiations waits for an answer. @default 250 */
  dhtFastPollMs?: number;
}

/** An inbound negotiation: the remote's offer and the path to answer on. */
export type OfferHandler = (path: SignalPath, from: PeerId, offer: SignalBody) => void;

/** Counters. */
export interface SignalingStats {
  forwarded: number;
  forwardsRefused: number;
  inbound: number;
  violations: number;
  dhtPolls: number;
  dhtReceived: number;
}

export interface Signaling {
  /** The handler of {@link SIGNAL_PROTOCOL} streams. */
  readonly handler: StreamHandler;
  /** Where inbound negotiations go (the WebRTC transport's answerer). */
  onOffer(handler: OfferHandler | undefined): void;
  /**
   * A signal path to `target` over `via`: a connection to the target itself (`direct`) or to a
   * peer connected to it (`relay`).
   *
   * @throws {StreamLimitError} / {ClosedError} when no stream can be opened on `via`
   */
  openPath(target: PeerId, via: Connection, sessionId: Uint8Array): Promise<SignalPath>;
  /** A signal path through the DHT mailboxes, or `undefined` without records. */
  openDhtPath(target: PeerId, sessionId: Uint8Array): SignalPath | undefined;
  readonly stats: SignalingStats;
  start(): void;
  stop(): void;
}
