// The WebRTC transport's contracts: signal routes, components, options, counters, dial options.
import type {
  Address,
  Clock,
  Connection,
  ConnectionGate,
  DialOptions,
  Logger,
  PeerId,
  PeerReporter,
  Transport,
} from '@detr/interface';
import type { IceServerInit } from '../ice/config.js';
import type { SignalPath } from '../signaling/path.js';
import type { OfferHandler } from '../signaling/service.js';
import type { NatProfile } from '../strategy.js';
import type { HandshakeRunner, MuxFactory } from './secure.js';

/** Where signal paths come from: opening one to a peer, and inbound negotiations. */
export interface SignalRoutes {
  /**
   * A new signal path to `target` (one per ICE stage). `address` is the address being dialed,
   * which may name a relay to signal through.
   *
   * @throws {NoSignalingRouteError} when there is no way to reach the target
   */
  open(
    target: PeerId,
    options: { signal: AbortSignal; address?: Address; via?: Connection },
  ): Promise<SignalPath>;
  /** Where inbound negotiations go. */
  onOffer(handler: OfferHandler | undefined): void;
}

/** Injected dependencies of the WebRTC transport. */
export interface WebRTCTransportComponents {
  /** Our identity (the handshake's `expectedPeer` check is against the remote's). */
  peerId: PeerId;
  /** The detr handshake (Noise XX, token, gate) over a byte stream. */
  handshake: HandshakeRunner;
  /** Builds the multiplexed connection over the authenticated channel. */
  mux: MuxFactory;
  signaling: SignalRoutes;
  /** Our NAT profile (from NAT discovery). @default unknown */
  natProfile?: () => NatProfile;
  gate?: ConnectionGate;
  reporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

/** Options of the WebRTC transport. */
export interface WebRTCTransportInit {
  /** STUN and TURN servers. @default [] */
  iceServers?: readonly IceServerInit[];
  /** Local address ICE gathers on. @default every interface (node-datachannel's default) */
  bindAddress?: string;
  /** UDP port range for ICE. @default any */
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** Time given to the direct stage before the TURN stage. @default 2500 */
  directTimeoutMs?: number;
  /** Time limit of a whole dial (every stage and the handshake). @default 20000 */
  dialTimeoutMs?: number;
  /** Time an answerer gives one negotiation. @default 15000 */
  answerTimeoutMs?: number;
  /** Inbound negotiations at once. @default 16 */
  maxInboundNegotiations?: number;
  /** Inbound negotiations at once from one peer. @default 4 */
  maxInboundPerPeer?: number;
  /** Largest message on the mux channel. @default 262144 */
  maxMessageBytes?: number;
  /** Features advertised in the handshake. @default [] */
  features?: readonly string[];
  /** How long a remote's NAT profile is remembered. @default 600000 */
  profileTtlMs?: number;
}

/** Counters of the transport. */
export interface WebRTCTransportStats {
  dials: number;
  dialsFailed: number;
  direct: number;
  relayed: number;
  inbound: number;
  inboundRefused: number;
  /** Negotiations dropped because the remote broke the signaling protocol. */
  signalingViolations: number;
}

/** Options of a WebRTC dial. */
export interface WebRTCDialOptions extends DialOptions {
  /**
   * Only the direct stage (ICE hole punching with STUN candidates), never TURN: what upgrading a
   * relayed connection wants.
   *
   * @default false
   */
  directOnly?: boolean;
  /** Signal over this connection (to the peer itself, or to a mutual peer). */
  via?: Connection;
}

/** The WebRTC transport, with its counters. */
export interface WebRTCTransport extends Transport {
  readonly stats: WebRTCTransportStats;
  dial(address: Address, options?: WebRTCDialOptions): Promise<Connection>;
}
