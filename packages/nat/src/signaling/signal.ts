// Signals as nat uses them, and their wire form (`detr.signaling.Signal`, @detr/protocol).
import type { PeerId } from '@detr/interface';
import { IceStage, NatFiltering, NatMapping, Signal, type SignalInit } from '@detr/protocol';
import type { FilteringBehaviour, MappingBehaviour } from '../stun/behaviour.js';
import type { NatProfile } from '../strategy.js';

/** One signal of a negotiation. */
export type SignalBody =
  | {
      readonly kind: 'offer' | 'answer';
      readonly sdp: string;
      /** `"sha-256 AB:…"` of the sender's DTLS certificate. */
      readonly fingerprint: string;
      readonly stage: 'direct' | 'relay';
      /** The sender's NAT behaviour. */
      readonly nat: NatProfile;
    }
  | { readonly kind: 'candidate'; readonly candidate: string; readonly mid: string }
  | { readonly kind: 'end-of-candidates' }
  | { readonly kind: 'close'; readonly reason: string };

/** A signal with its envelope: which negotiation, from whom, to whom. */
export interface SignalEnvelope {
  readonly sessionId: Uint8Array;
  readonly from: Uint8Array;
  readonly to: Uint8Array;
  readonly body: SignalBody;
}

const MAPPING_TO_WIRE: Record<MappingBehaviour, NatMapping> = {
  unknown: NatMapping.NAT_MAPPING_UNSPECIFIED,
  none: NatMapping.NAT_MAPPING_NONE,
  'endpoint-independent': NatMapping.NAT_MAPPING_ENDPOINT_INDEPENDENT,
  'endpoint-dependent': NatMapping.NAT_MAPPING_ENDPOINT_DEPENDENT,
};
const FILTERING_TO_WIRE: Record<FilteringBehaviour, NatFiltering> = {
  unknown: NatFiltering.NAT_FILTERING_UNSPECIFIED,
  'endpoint-independent': NatFiltering.NAT_FILTERING_ENDPOINT_INDEPENDENT,
  'address-dependent': NatFiltering.NAT_FILTERING_ADDRESS_DEPENDENT,
  'address-and-port-dependent': NatFiltering.NAT_FILTERING_ADDRESS_AND_PORT_DEPENDENT,
};
const invert = <K extends string, V extends number>(m: Record<K, V>): Map<number, K> =>
  new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
const MAPPING_FROM_WIRE = invert(MAPPING_TO_WIRE);
const FILTERING_FROM_WIRE = invert(FILTERING_TO_WIRE);

/** The encoder input of a signal envelope. */
export function toWire(e: SignalEnvelope): SignalInit {
  const head = { sessionId: e.sessionId, from: e.from, to: e.to };
  const b = e.body;
  switch (b.kind) {
    case 'offer':
    case 'answer': {
      const sdp = {
        sdp: b.sdp,
        dtlsFingerprint: b.fingerprint,
        stage: b.stage === 'relay' ? IceStage.ICE_STAGE_RELAY : IceStage.ICE_STAGE_DIRECT,
        natMapping: MAPPING_TO_WIRE[b.nat.mapping],
        natFiltering: FILTERING_TO_WIRE[b.nat.filtering],
      };
      return b.kind === 'offer' ? { ...head, offer: sdp } : { ...head, answer: sdp };
    }
    case 'candidate':
      return { ...head, candidate: { candidate: b.candidate, mid: b.mid } };
    case 'end-of-candidates':
      return { ...head, endOfCandidates: {} };
    case 'close':
      return { ...head, close: { reason: b.reason.slice(0, 200) } };
  }
}

/** The envelope of a decoded wire signal (protocol already validated its fields). */
export function fromWire(s: Signal): SignalEnvelope {
  const head = { sessionId: s.sessionId, from: s.from, to: s.to };
  switch (s.body) {
    case 'offer':
    case 'answer': {
      const sdp = s.body === 'offer' ? s.offer : s.answer;
      return {
        ...head,
        body: {
          kind: s.body,
          sdp: sdp.sdp,
          fingerprint: sdp.dtlsFingerprint,
          stage: sdp.stage === IceStage.ICE_STAGE_RELAY ? 'relay' : 'direct',
          nat: {
            mapping: MAPPING_FROM_WIRE.get(sdp.natMapping) ?? 'unknown',
            filtering: FILTERING_FROM_WIRE.get(sdp.natFiltering) ?? 'unknown',
          },
        },
      };
    }
    case 'candidate':
      return {
        ...head,
        body: { kind: 'candidate', candidate: s.candidate.candidate, mid: s.candidate.mid },
      };
    case 'endOfCandidates':
      return { ...head, body: { kind: 'end-of-candidates' } };
    case 'close':
      return { ...head, body: { kind: 'close', reason: s.close.reason } };
  }
}

/** Encodes an envelope as `Signal` protobuf bytes (no frame). */
export function encodeSignal(e: SignalEnvelope): Uint8Array {
  return Signal.encode(toWire(e));
}

/**
 * Decodes `Signal` protobuf bytes.
 *
 * @throws {ProtocolError} for anything that is not a valid Signal
 */
export function decodeSignal(bytes: Uint8Array): SignalEnvelope {
  return fromWire(Signal.decode(bytes));
}

/** Equal bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `bytes` is `peer`'s binary form. */
export function isPeer(bytes: Uint8Array, peer: PeerId): boolean {
  return sameBytes(bytes, peer.bytes);
}
