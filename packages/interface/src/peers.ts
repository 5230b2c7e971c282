import type { Address } from './address.js';
import type { PeerId } from './peer-id.js';
import type { Direction } from './transport.js';

/** Why a peer loses reputation. */
export type PenaltyReason =
  | 'invalid-message'
  | 'handshake-failed'
  | 'timeout'
  | 'rate-limit'
  | 'bad-record'
  | 'protocol-violation';

/** Where components report misbehaviour and good service; `@detr/dpeers` implements it. */
export interface PeerReporter {
  /** Lowers `peer`'s score for `reason`; `weight` scales the configured penalty (default 1). */
  penalize(peer: PeerId, reason: PenaltyReason, weight?: number): void;
  /** Raises `peer`'s score a little for useful work (answered a query, relayed a message). */
  reward(peer: PeerId, reason: string, weight?: number): void;
}

/** A reporter that ignores everything; the default when none is injected. */
export const noopPeerReporter: PeerReporter = {
  penalize: () => {},
  reward: () => {},
};

/**
 * Admission policy consulted by the connection manager at each step of a connection's life;
 * `@detr/dpeers` implements it. Each method returns true to allow.
 */
export interface ConnectionGate {
  /** A socket arrived from `remote`: before any handshake byte is read. */
  allowInbound(remote: Address): boolean;
  /** About to dial `address` (for `peer`, if known). */
  allowDial(address: Address, peer?: PeerId): boolean;
  /** The remote's identity is known, before the handshake completes. */
  allowPeer(peer: PeerId, direction: Direction, remote: Address): boolean;
}

/** A gate that allows everything. */
export const openGate: ConnectionGate = {
  allowInbound: () => true,
  allowDial: () => true,
  allowPeer: () => true,
};
