// Shared test helpers: deterministic identities, record envelopes, a recording PeerReporter.
import { createIdentity, type Identity } from '@detr/aecomms';
import {
  createSeededRng,
  type PeerId,
  type PeerReporter,
  type PenaltyReason,
} from '@detr/interface';
import { createEd25519Verifier } from '../../src/identity.js';
import type { RecordRules } from '../../src/records/record.js';
import { mutableValidator, presenceValidator } from '../../src/records/validators.js';
import { aecommsPeerIds } from '../../src/identity.js';

export const NETWORK_A = new Uint8Array(32).fill(0xa1);
export const NETWORK_B = new Uint8Array(32).fill(0xb2);

const rng = createSeededRng(7);

/** A fresh deterministic identity. */
export function identity(): Identity {
  return createIdentity(rng.bytes(32));
}

export const verifier = createEd25519Verifier();

export function rules(overrides: Partial<RecordRules> = {}): RecordRules {
  return {
    networkId: NETWORK_A,
    verifier,
    validators: new Map([
      ['m', mutableValidator],
      ['presence', presenceValidator(aecommsPeerIds)],
    ]),
    maxValueBytes: 1024,
    maxTtlSec: 3600,
    maxClockSkewMs: 60_000,
    ...overrides,
  };
}

export interface Penalty {
  peer: string;
  reason: PenaltyReason;
  weight: number | undefined;
}

/** A PeerReporter that records every call. */
export function recordingReporter(): PeerReporter & {
  penalties: Penalty[];
  of(peer: PeerId): Penalty[];
} {
  const penalties: Penalty[] = [];
  return {
    penalties,
    penalize(peer, reason, weight) {
      penalties.push({ peer: peer.toString(), reason, weight });
    },
    reward() {},
    of(peer) {
      return penalties.filter((p) => p.peer === peer.toString());
    },
  };
}
