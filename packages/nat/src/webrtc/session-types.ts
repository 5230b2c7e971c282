// The contracts of one WebRTC negotiation (session.ts): its signals, options and result.
import type { DataChannel, IceServer, PeerConnection } from 'node-datachannel';

/** A signal one side of a negotiation sends the other. */
export type SessionSignal =
  | { readonly kind: 'offer' | 'answer'; readonly sdp: string }
  | { readonly kind: 'candidate'; readonly candidate: string; readonly mid: string }
  | { readonly kind: 'end-of-candidates' };

export interface RtcSessionInit {
  readonly role: 'offerer' | 'answerer';
  /** ICE servers in node-datachannel's form. */
  readonly iceServers: readonly IceServer[];
  /** `relay` uses TURN candidates only. */
  readonly policy: 'all' | 'relay';
  /** Local address to gather on (node-datachannel gathers on every interface otherwise). */
  readonly bindAddress?: string;
  readonly portRangeBegin?: number;
  readonly portRangeEnd?: number;
  /** Largest message the local side accepts. @default 262144 */
  readonly maxMessageBytes?: number;
  /**
   * Trickle candidates as they are gathered (`true`), or send one description with every
   * candidate once gathering completes (`false`: for slow signaling such as DHT records).
   * @default true
   */
  readonly trickle?: boolean;
  /**
   * Hold the remote's candidates until {@link RtcSession.releaseCandidates} (an answerer whose
   * answer travels slowly: its ICE checks must not connect before the offerer has the answer, or
   * the offerer's DTLS cannot verify our certificate). @default false
   */
  readonly holdCandidates?: boolean;
  /** Called for each signal to deliver to the remote. Must not throw. */
  readonly onSignal: (signal: SessionSignal) => void;
  /** Name for node-datachannel's log lines. */
  readonly label?: string;
}

/** An open session. */
export interface RtcSessionResult {
  /** Channel 0: the handshake runs on it, then it is closed. */
  readonly handshakeChannel: DataChannel;
  /** Channel 1: the multiplexed connection's messages. */
  readonly channel: DataChannel;
  readonly pc: PeerConnection;
  /** `direct` when neither side of the selected pair is a TURN relay candidate. */
  readonly path: 'direct' | 'relayed';
  readonly localCandidate: string;
  readonly remoteCandidate: string;
  /** `"sha-256 AB:CD:…"` of our DTLS certificate (from our description). */
  readonly localFingerprint: string;
  /** The remote's DTLS certificate fingerprint as verified by DTLS. */
  readonly remoteFingerprint: string;
}

export interface RtcSession {
  /** Resolves when the data channel is open; rejects on ICE failure, close or abort. */
  open(options?: { signal?: AbortSignal }): Promise<RtcSessionResult>;
  /** Applies a signal from the remote. A malformed one fails the session; never throws. */
  receive(signal: SessionSignal): void;
  /** Adds the remote candidates held so far (and later ones) when `holdCandidates` was set. */
  releaseCandidates(): void;
  /** Closes the channel and the PeerConnection. Idempotent. */
  close(): void;
  /** Called once when the session closes (locally or because ICE/DTLS failed after open). */
  onClose(listener: (err?: Error) => void): void;
  readonly closed: boolean;
  /** Remote candidates node-datachannel refused (malformed, or late). */
  readonly rejectedCandidates: number;
}
