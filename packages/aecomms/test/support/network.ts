// A test network: an admin, a network, members with tokens, and a helper that runs both sides of
// a handshake over an in-memory pair and reports how each side ended.
import type { Duplex } from 'node:stream';
import { createManualClock, type ManualClock } from '@detr/interface';
import type { SignedEnvelope } from '@detr/protocol';
import {
  createIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
  performHandshake,
  type CryptoProvider,
  type HandshakeOptions,
  type HandshakeResult,
  type Identity,
  type Network,
  type TokenVerifier,
} from '../../src/index.js';
import { createDuplexPair } from './duplex-pair.js';

export const DAY_MS = 86_400_000;

export interface Member {
  identity: Identity;
  token: SignedEnvelope;
}

export interface TestNetwork {
  clock: ManualClock;
  admin: Identity;
  network: Network;
  verifier: TokenVerifier;
  member(options?: { provider?: CryptoProvider }): Member;
}

export function createTestNetwork(provider?: CryptoProvider): TestNetwork {
  const clock = createManualClock();
  const admin = createIdentity();
  const components = provider !== undefined ? { clock, provider } : { clock };
  const network = createNetwork(admin, { name: 'test' }, components);
  const verifier = createTokenVerifier(components, { network });
  return {
    clock,
    admin,
    network,
    verifier,
    member(options = {}) {
      const identity = createIdentity(
        undefined,
        options.provider !== undefined ? { provider: options.provider } : {},
      );
      const token = issueToken(
        admin,
        { networkId: network.networkId, peer: identity.peerId, expiresAtMs: clock.now() + DAY_MS },
        components,
      );
      return { identity, token };
    },
  };
}

/** Options for one side: defaults come from the member and the network. */
export function sideOptions(
  net: TestNetwork,
  member: Member,
  role: 'initiator' | 'responder',
  extra: Partial<HandshakeOptions> = {},
): HandshakeOptions {
  return {
    role,
    identity: member.identity,
    network: net.network,
    token: member.token,
    tokenVerifier: net.verifier,
    clock: net.clock,
    ...extra,
  };
}

export type Outcome = { ok: true; result: HandshakeResult } | { ok: false; error: unknown };

export async function settle(p: Promise<HandshakeResult>): Promise<Outcome> {
  try {
    return { ok: true, result: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs both sides over a fresh in-memory pair. */
export async function runHandshake(
  initiator: HandshakeOptions,
  responder: HandshakeOptions,
): Promise<{ i: Outcome; r: Outcome; a: Duplex; b: Duplex }> {
  const [a, b] = createDuplexPair();
  const [i, r] = await Promise.all([
    settle(performHandshake(a, initiator)),
    settle(performHandshake(b, responder)),
  ]);
  return { i, r, a, b };
}
