// Test peers on @detr/transport's in-memory transport: the real handshake (Noise XX, identity
// signature, network token), the real multiplexer and connection manager, over in-process pipes.
import {
  createIdentity as createAecommsIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
} from '@detr/aecomms';
import { parseAddress, type ConnectionGate, type PeerId } from '@detr/interface';
import {
  createConnectionManager,
  createMemoryHub,
  createMemoryTransport,
  createStreamRegistry,
} from '@detr/transport';
import type { Identity } from '../src/identity.js';
import type { ConnectionManager } from '../src/ports.js';

export interface TestPeer {
  identity: Identity;
  cm: ConnectionManager;
}

/** The network of a set of test peers, and a switch that takes one of them off it. */
export interface TestHub {
  /** Cuts `peer`'s connections and refuses its dials and handshakes while `offline`. */
  setOffline(peer: PeerId, offline: boolean): void;
}

/** `n` started peers of one network on one in-memory hub; each knows every other's address. */
export async function memoryPeers(n: number): Promise<{ hub: TestHub; peers: TestPeer[] }> {
  const admin = createAecommsIdentity();
  const network = createNetwork(admin, { name: 'test' });
  const verifier = createTokenVerifier({}, { network });
  const memory = createMemoryHub();
  const offline = new Set<string>();
  const prefix = Math.random().toString(36).slice(2, 8);
  const peers: TestPeer[] = [];
  const gate = (self: PeerId): ConnectionGate => ({
    allowInbound: () => !offline.has(self.toString()),
    allowDial: (_a, peer) =>
      !offline.has(self.toString()) && (peer === undefined || !offline.has(peer.toString())),
    allowPeer: (peer) => !offline.has(self.toString()) && !offline.has(peer.toString()),
  });
  const managers: Array<ReturnType<typeof createConnectionManager>> = [];
  for (let i = 0; i < n; i++) {
    const identity = createAecommsIdentity();
    const registry = createStreamRegistry();
    const transport = createMemoryTransport(
      {
        identity,
        network,
        token: issueToken(admin, {
          networkId: network.networkId,
          peer: identity.peerId,
          expiresAtMs: Date.now() + 3_600_000,
        }),
        tokenVerifier: verifier,
        registry,
        gate: gate(identity.peerId),
        hub: memory,
      },
      {},
    );
    const cm = createConnectionManager(
      { peer: identity.peerId, transports: [transport], registry },
      { listen: [parseAddress(`/memory/${prefix}-${i}`)], dialTimeoutMs: 5000 },
    );
    await cm.start();
    managers.push(cm);
    peers.push({ identity, cm });
  }
  for (const m of managers)
    for (let i = 0; i < n; i++)
      m.addAddress(peers[i]!.identity.peerId, parseAddress(`/memory/${prefix}-${i}`));
  return {
    peers,
    hub: {
      setOffline(peer, off) {
        if (off) offline.add(peer.toString());
        else offline.delete(peer.toString());
        if (!off) return;
        for (const m of managers)
          for (const c of m.connections())
            if (
              c.remotePeer.equals(peer) ||
              m === managers[peers.findIndex((p) => p.identity.peerId.equals(peer))]
            )
              c.abort();
      },
    },
  };
}

export async function until(
  cond: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
