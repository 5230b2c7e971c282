/**
 * @packageDocumentation
 * @detr/nat: WebRTC data channels with ICE/STUN/TURN, relays and hole punching.
 */

export {
  StunError,
  NoSignalingRouteError,
  SignalingError,
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

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/nat', layer: 'net' } as const;
