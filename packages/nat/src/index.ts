/**
 * @packageDocumentation
 * @detr/nat: WebRTC data channels with ICE/STUN/TURN, relays and hole punching.
 */

export {
  StunError,
  NoSignalingRouteError,
  SignalingError,
  SignalingViolationError,
  IceFailedError,
  DataChannelError,
  RelayRefusedError,
  RelayLimitError,
} from './errors.js';
export type {
  MappingBehaviour,
  FilteringBehaviour,
  NatBehaviour,
  DiscoverOptions,
} from './stun/behaviour.js';
export { discoverNatBehaviour } from './stun/behaviour.js';
export type { StunServer } from './stun/client.js';
export type { IceServerInit, IceUrl, IceConfig } from './ice/config.js';
export { parseIceServers, parseIceUrl, turnRestCredentials } from './ice/config.js';
export type { NatProfile, PathPrediction, Stage, PlanOptions } from './strategy.js';
export { predictPath, planStages, UNKNOWN_PROFILE } from './strategy.js';
export { retainWebRTC, releaseWebRTC } from './webrtc/runtime.js';
export type { RtcSession, RtcSessionResult } from './webrtc/session.js';
export type { NegotiationContext, Negotiated, DialStrategyOptions } from './webrtc/negotiate.js';
export { dialStrategy, answerStrategy, RELAY_PREDICTED } from './webrtc/negotiate.js';
export type { SignalPath } from './signaling/path.js';
export type { SignalBody } from './signaling/signal.js';

export type { Nat, NatComponents, NatInit, NatStatus, NatConnectionManager } from './nat.js';
export { createNat } from './nat.js';
export type {
  WebRTCTransport,
  WebRTCTransportComponents,
  WebRTCTransportInit,
  WebRTCTransportStats,
  WebRTCDialOptions,
  SignalRoutes,
} from './webrtc/transport.js';
export { createWebRTCTransport } from './webrtc/transport.js';
export type { MuxFactoryComponents } from './webrtc/mux.js';
export { createMuxFactory } from './webrtc/mux.js';
export type {
  HandshakeRunner,
  HandshakeOutcome,
  MuxFactory,
  MessagePipeLike,
} from './webrtc/secure.js';
export { ChannelBindingError, DTLS_BINDING_FEATURE, dtlsBindingFeature } from './webrtc/secure.js';
export type { HandshakeComponents } from './webrtc/handshake.js';
export { detrHandshake } from './webrtc/handshake.js';
export type {
  ChannelPipe,
  ChannelPipeHandlers,
  ChannelPipeOptions,
} from './webrtc/channel-pipe.js';
export type {
  Signaling,
  SignalingComponents,
  SignalingInit,
  SignalingStats,
  OfferHandler,
  ConnectionSource,
} from './signaling/service.js';
export { createSignaling } from './signaling/service.js';
export { SIGNAL_PROTOCOL } from './signaling/path.js';
export { createSignalRoutes } from './signaling/routes.js';
export {
  SIGNAL_NAMESPACE,
  signalKey,
  signalRecordValidator,
  MAX_SIGNAL_RECORD_BYTES,
} from './signaling/dht.js';
export type {
  RelayServer,
  RelayServerComponents,
  RelayServerInit,
  RelayServerStats,
} from './relay/server.js';
export { createRelayServer, RELAY_HOP_PROTOCOL, RELAY_STOP_PROTOCOL } from './relay/server.js';
export type { CircuitLimits, RelayReservation, InboundCircuit } from './relay/client.js';
export { reserveSlot, openCircuit, stopHandler } from './relay/client.js';
export type {
  CircuitTransport,
  CircuitTransportComponents,
  CircuitTransportInit,
  StreamUpgrader,
  RelayDialer,
} from './relay/transport.js';
export { createCircuitTransport } from './relay/transport.js';
export { createStreamUpgrader } from './relay/upgrade.js';
export type { Reachability, DialBackOutcome } from './autonat.js';
export {
  AUTONAT_PROTOCOL,
  createAutoNatServer,
  requestDialBack,
  createReachabilityTally,
} from './autonat.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/nat', layer: 'net' } as const;
