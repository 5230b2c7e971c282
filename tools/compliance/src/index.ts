/**
 * @packageDocumentation
 * @detr/compliance: reusable compliance suites. Each suite gets the implementation under test
 * through factories and never imports it, so every implementation (and every test double) of a
 * contract runs the same cases: `runTransportCompliance` for TCP, QUIC, memory and WebRTC.
 */
export { runTransportCompliance, TRANSPORT_CASES } from './transport/suite.js';
export type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
  TransportComplianceOptions,
} from './transport/types.js';
export {
  readAll,
  streamError,
  closeOf,
  within,
  waitFor,
  delay,
  writeWithBackpressure,
} from './util.js';
