/**
 * @packageDocumentation
 * Shared types of every detr package: identities, lifecycle, time, randomness, logging,
 * transport contracts, admission and reputation hooks, and the base error classes.
 */
export {
  DetrError,
  AbortError,
  TimeoutError,
  NotStartedError,
  ClosedError,
  throwIfAborted,
} from './errors.js';
export type { AbortOptions, Startable } from './lifecycle.js';
export { isStartable, combineSignals, shutdownController } from './lifecycle.js';
export type { Clock, ManualClock, Timer } from './clock.js';
export { systemClock, createManualClock, sleep } from './clock.js';
export type { Rng } from './rng.js';
export { cryptoRng, createSeededRng } from './rng.js';
export type { Logger, LogFn } from './logger.js';
export { noopLogger } from './logger.js';
export type { PeerId } from './peer-id.js';
export type { Address, AddressTransport } from './address.js';
export { parseAddress, withPeer, InvalidAddressError } from './address.js';
export type {
  Connection,
  ConnectionHandler,
  ConnectionStats,
  ConnectionStatus,
  DialOptions,
  Direction,
  Listener,
  NewStreamOptions,
  RemoteInfo,
  Stream,
  StreamHandler,
  StreamRegistry,
  Transport,
} from './transport.js';
export {
  StreamResetError,
  UnknownProtocolError,
  StreamRefusedError,
  StreamLimitError,
  ProtocolViolationError,
} from './transport.js';
export type { ConnectionGate, PeerReporter, PenaltyReason } from './peers.js';
export { noopPeerReporter, openGate } from './peers.js';
export type { ConnectionTracker } from './connection-tracker.js';
export { noopConnectionTracker } from './connection-tracker.js';
export type {
  SharedRecord,
  SharedRecordPutOptions,
  SharedRecords,
  PeerLocation,
  PeerRouting,
} from './routing.js';
