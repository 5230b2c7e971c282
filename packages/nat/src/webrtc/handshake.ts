// The detr handshake as the WebRTC transport runs it: aecomms' performHandshake (Noise XX,
// identity signature, token, version, gate) with the same components as the TCP transport, plus
// the DTLS binding feature (secure.ts). The handshake's secure session is not used afterwards:
// DTLS protects the mux channel, which this handshake has bound to both peers.
import {
  performHandshake,
  type CryptoProvider,
  type Identity,
  type TokenVerifier,
} from '@detr/aecomms';
import type { Clock, ConnectionGate } from '@detr/interface';
import { openGate, systemClock } from '@detr/interface';
import type { SignedEnvelope } from '@detr/protocol';
import type { HandshakeRunner } from './secure.js';

/** What the handshake needs (the security part of `@detr/transport`'s components). */
export interface HandshakeComponents {
  identity: Identity;
  network: { readonly networkId: Uint8Array };
  token?: SignedEnvelope;
  tokenVerifier: TokenVerifier | null;
  gate?: ConnectionGate;
  clock?: Clock;
  provider?: CryptoProvider;
}

/**
 * A {@link HandshakeRunner} over aecomms' `performHandshake`.
 *
 * @example
 * ```ts
 * const handshake = detrHandshake({ identity, network, token, tokenVerifier, gate }, { timeoutMs: 10_000 })
 * ```
 */
export function detrHandshake(
  components: HandshakeComponents,
  init: { timeoutMs?: number } = {},
): HandshakeRunner {
  const gate = components.gate ?? openGate;
  return async (stream, options) => {
    const direction = options.role === 'initiator' ? 'outbound' : 'inbound';
    const { remote, session, remainder } = await performHandshake(stream, {
      role: options.role,
      identity: components.identity,
      network: components.network,
      ...(components.token !== undefined ? { token: components.token } : {}),
      tokenVerifier: components.tokenVerifier,
      ...(options.expectedPeer !== undefined ? { expectedPeer: options.expectedPeer } : {}),
      allowPeer: (peer) => gate.allowPeer(peer, direction, options.remoteAddress),
      features: options.features,
      clock: components.clock ?? systemClock,
      ...(init.timeoutMs !== undefined ? { timeoutMs: init.timeoutMs } : {}),
      ...(components.provider !== undefined ? { provider: components.provider } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    void session;
    return {
      remainder,
      remote: {
        peer: remote.peer,
        protocolVersion: remote.protocolVersion,
        features: remote.features,
        networkId: remote.networkId,
      },
    };
  };
}
