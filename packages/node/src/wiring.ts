// The real connection stack: @detr/transport's TCP transport (Noise XX with the network token
// check from @detr/aecomms, detr stream multiplexer) under its connection manager, with dpeers as
// the gate, reporter and tracker. This is where same-layer packages meet.
import type { Clock, Logger, PeerReporter } from '@detr/interface';
import { parseAddress } from '@detr/interface';
import { createTokenVerifier, type Identity, type TokenVerifier } from '@detr/aecomms';
import { SignedEnvelope } from '@detr/protocol';
import { createConnectionManager, createStreamRegistry, createTcpTransport } from '@detr/transport';
import type { Dpeers } from '@detr/dpeers';
import type { ConnectionManager } from './ports.js';
import type { Network } from './networks.js';

export interface DetrStack {
  connections: ConnectionManager;
  tokens: TokenVerifier;
}

/**
 * Builds the connection manager of a node on @detr/transport.
 *
 * @throws {InvalidTokenError}-like errors from aecomms for bad network material
 */
export function createDetrStack(c: {
  identity: Identity;
  network: Network;
  token: string;
  revocations?: string;
  dpeers: Dpeers;
  /** Where the transport reports misbehaviour (dpeers, counted by the node). */
  reporter: PeerReporter;
  clock: Clock;
  logger: Logger;
  listen: readonly string[];
  dialTimeoutMs: number;
  clockSkewMs: number;
}): DetrStack {
  const decode = (text: string): SignedEnvelope =>
    SignedEnvelope.decode(new Uint8Array(Buffer.from(text, 'base64url')));
  const networkId = new Uint8Array(Buffer.from(c.network.id, 'hex'));
  const tokens = createTokenVerifier(
    { clock: c.clock },
    {
      network: { networkId, adminKeys: c.network.adminKeys },
      clockSkewMs: c.clockSkewMs,
      ...(c.revocations !== undefined ? { revocationList: decode(c.revocations) } : {}),
    },
  );
  let token: SignedEnvelope | undefined;
  try {
    token = decode(c.token);
  } catch {
    token = undefined; // no usable token: every remote refuses us, as it should
  }
  const registry = createStreamRegistry();
  const tcp = createTcpTransport(
    {
      identity: c.identity,
      network: { networkId },
      ...(token !== undefined ? { token } : {}),
      tokenVerifier: tokens,
      registry,
      gate: c.dpeers,
      reporter: c.reporter,
      clock: c.clock,
      logger: c.logger,
    },
    { handshakeTimeoutMs: c.dialTimeoutMs },
  );
  const cm = createConnectionManager(
    {
      peer: c.identity.peerId,
      transports: [tcp],
      registry,
      tracker: c.dpeers,
      clock: c.clock,
      logger: c.logger,
    },
    { listen: c.listen.map((a) => parseAddress(a)), dialTimeoutMs: c.dialTimeoutMs },
  );
  return { connections: cm, tokens };
}
