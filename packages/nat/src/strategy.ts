// The connection strategy as pure functions: from both sides' NAT behaviour, predict whether a
// direct path exists, and plan the ICE stages to try.
import type { FilteringBehaviour, MappingBehaviour } from './stun/behaviour.js';

/** What one side knows of its own NAT. */
export interface NatProfile {
  readonly mapping: MappingBehaviour;
  readonly filtering: FilteringBehaviour;
  /** AutoNAT's verdict: `public` when peers could dial us back. */
  readonly reachability?: 'public' | 'private' | 'unknown';
}

/** An unknown profile (no STUN server, or not measured yet). */
export const UNKNOWN_PROFILE: NatProfile = { mapping: 'unknown', filtering: 'unknown' };

/** `direct`: a direct path should work; `relay`: it should not; `unknown`: try and see. */
export type PathPrediction = 'direct' | 'relay' | 'unknown';

const mapsIndependently = (p: NatProfile): boolean =>
  p.mapping === 'none' || p.mapping === 'endpoint-independent';
const acceptsAnyone = (p: NatProfile): boolean =>
  p.filtering === 'endpoint-independent' || p.reachability === 'public';

/**
 * Predicts whether ICE can find a direct path between two sides.
 * - both map endpoint-independently: their server-reflexive candidates work (simultaneous open);
 * - one side accepts packets from anyone (open host, full cone, AutoNAT-public): the other's
 *   packets reach it from whatever port its NAT picked, and its answers open the way back;
 * - one side maps per destination and the other only filters by address: the latter's packets to
 *   the former's IP open its filter for any port, so the per-destination port gets through;
 * - otherwise (both per destination; or per destination against address-and-port filtering) a
 *   direct path needs port prediction, which detr does not attempt: relay.
 *
 * @example
 * ```ts
 * predictPath({ mapping: 'endpoint-dependent', filtering: 'address-and-port-dependent' }, remote) // 'relay'
 * ```
 */
export function predictPath(a: NatProfile, b: NatProfile): PathPrediction {
  if (acceptsAnyone(a) || acceptsAnyone(b)) return 'direct';
  if (a.mapping === 'unknown' || b.mapping === 'unknown') return 'unknown';
  if (mapsIndependently(a) && mapsIndependently(b)) return 'direct';
  if (!mapsIndependently(a) && !mapsIndependently(b)) return 'relay';
  const other = mapsIndependently(a) ? a : b;
  if (other.filtering === 'address-dependent') return 'direct';
  if (other.filtering === 'unknown') return 'unknown';
  return 'relay';
}

/** One ICE attempt. */
export interface Stage {
  readonly stage: 'direct' | 'relay';
  /** How long to wait for this stage before moving to the next (the last stage: the dial's). */
  readonly timeoutMs: number;
}

export interface PlanOptions {
  /** TURN servers are configured. */
  readonly hasTurn: boolean;
  /** Time given to the direct stage when a relay stage follows. */
  readonly directTimeoutMs: number;
  /** Time given to the last stage. */
  readonly lastTimeoutMs: number;
}

/**
 * The stages to try, in order: direct first unless the prediction says it cannot work and TURN
 * is there to use; then TURN relay only (`iceTransportPolicy: 'relay'`).
 *
 * @example
 * ```ts
 * planStages('unknown', { hasTurn: true, directTimeoutMs: 2500, lastTimeoutMs: 15000 })
 * // [{ stage: 'direct', timeoutMs: 2500 }, { stage: 'relay', timeoutMs: 15000 }]
 * ```
 */
export function planStages(prediction: PathPrediction, options: PlanOptions): Stage[] {
  if (!options.hasTurn) return [{ stage: 'direct', timeoutMs: options.lastTimeoutMs }];
  if (prediction === 'relay') return [{ stage: 'relay', timeoutMs: options.lastTimeoutMs }];
  return [
    { stage: 'direct', timeoutMs: options.directTimeoutMs },
    { stage: 'relay', timeoutMs: options.lastTimeoutMs },
  ];
}
