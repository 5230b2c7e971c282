// What every transport is given: who we are, which network we are in, whom to let in, where
// inbound streams go, and the usual services. Each transport adds its own options to TransportInit.
import type { CryptoProvider, Identity, TokenVerifier } from '@detr/aecomms';
import type { Clock, ConnectionGate, Logger, PeerReporter, StreamRegistry } from '@detr/interface';
import { noopLogger, noopPeerReporter, openGate, systemClock } from '@detr/interface';
import type { SignedEnvelope } from '@detr/protocol';
import { resolveMuxInit, stripUndefined, type MuxInit, type MuxSettings } from './mux/options.js';

/** Injected dependencies of a transport. */
export interface TransportComponents {
  /** Our identity: it signs the Noise static key (TCP, memory) and is the QUIC TLS key. */
  identity: Identity;
  /** The network we belong to: its id is bound into every handshake. */
  network: { readonly networkId: Uint8Array };
  /** Our access token (an admin-signed envelope); omit on an open network. */
  token?: SignedEnvelope;
  /** Checks every remote's token against the identity it proved; `null` for an open network. */
  tokenVerifier: TokenVerifier | null;
  /** Handlers of inbound streams, by protocol. */
  registry: StreamRegistry;
  /**
   * Admission policy: `allowInbound` before reading a byte, `allowDial` before dialing,
   * `allowPeer` once the remote's identity is authenticated.
   *
   * @default openGate
   */
  gate?: ConnectionGate;
  /** @default noopPeerReporter */
  reporter?: PeerReporter;
  /** @default systemClock */
  clock?: Clock;
  /** @default noopLogger */
  logger?: Logger;
  /**
   * Crypto provider of the handshake and the secure channel.
   *
   * @default aecomms' defaultCryptoProvider (sodium when it loads)
   */
  provider?: CryptoProvider;
}

/** Options of every transport: the multiplexer's and the handshake's. */
export interface TransportInit extends MuxInit {
  /**
   * Time limit of the handshake (with the network token check) of one connection.
   *
   * @default 10000
   */
  handshakeTimeoutMs?: number;
  /**
   * Features advertised to remotes in the handshake.
   *
   * @default []
   */
  features?: readonly string[];
}

/** Components with defaults applied. */
export interface ResolvedComponents extends TransportComponents {
  gate: ConnectionGate;
  reporter: PeerReporter;
  clock: Clock;
  logger: Logger;
}

/** Init with defaults applied. */
export interface ResolvedInit extends MuxSettings {
  handshakeTimeoutMs: number;
  features: readonly string[];
}

/** The defaults of {@link TransportInit} beyond the multiplexer's. */
export const TRANSPORT_DEFAULTS = Object.freeze({ handshakeTimeoutMs: 10_000 });

/**
 * Applies defaults.
 *
 * @throws {TypeError} for missing components
 * @throws {RangeError} for options out of range
 */
export function resolveTransport(
  components: TransportComponents,
  init: TransportInit,
): { c: ResolvedComponents; o: ResolvedInit } {
  if (components === null || typeof components !== 'object') {
    throw new TypeError('components are required');
  }
  if (components.identity === undefined) throw new TypeError('components.identity is required');
  if (components.registry === undefined) throw new TypeError('components.registry is required');
  if (components.tokenVerifier === undefined) {
    throw new TypeError('components.tokenVerifier is required (null for an open network)');
  }
  const { handshakeTimeoutMs, features, ...mux } = init;
  const hs = handshakeTimeoutMs ?? TRANSPORT_DEFAULTS.handshakeTimeoutMs;
  if (!Number.isInteger(hs) || hs < 1 || hs > 600_000) {
    throw new RangeError('handshakeTimeoutMs must be an integer in 1..600000');
  }
  return {
    c: {
      ...components,
      gate: components.gate ?? openGate,
      reporter: components.reporter ?? noopPeerReporter,
      clock: components.clock ?? systemClock,
      logger: components.logger ?? noopLogger,
    },
    o: {
      ...resolveMuxInit(stripUndefined(mux)),
      handshakeTimeoutMs: hs,
      features: Object.freeze([...(features ?? [])]),
    },
  };
}
