/**
 * @packageDocumentation
 * @detr/dpeers: who a detr node talks to. A bounded peer registry (addresses with their source
 * and last success, protocols, latency, last seen) persisted through `@detr/stored`; reputation
 * with decay and growing, persisted bans (the `PeerReporter`); the `ConnectionGate` and
 * `ConnectionTracker` of the transport's connection manager (direction, IP and subnet limits,
 * pruning, protected peers); and authorized peer sets.
 */
export type {
  AddressInfo,
  AddressSource,
  Dpeers,
  DpeersComponents,
  DpeersEvents,
  DpeersInit,
  DpeersStats,
  PeerInfo,
  PenaltyTable,
  RefusalReason,
} from './types.js';
export { createDpeers, DPEERS_DEFAULTS } from './dpeers.js';
export { DEFAULT_PENALTIES, SCORE_MAX, SCORE_MIN } from './reputation.js';
export { OUTBOUND_BONUS, AGE_BONUS_MAX } from './gate.js';
export { ipGroup, type IpGroup } from './subnet.js';
export { ConnectionCutError, ConnectionPrunedError } from './errors.js';
