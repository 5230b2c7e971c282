// Circuits end to end: A reserves at relay R, B dials A through R; the relayed connection runs the
// real detr handshake, Noise session and multiplexer over the circuit (R and the links to it are
// test doubles).
import { afterEach, describe, expect, it } from '@jest/globals';
import { createIdentity, createNetwork, createTokenVerifier, issueToken } from '@detr/aecomms';
import type { Address, Connection, PeerId, StreamHandler } from '@detr/interface';
import { noopPeerReporter, parseAddress } from '@detr/interface';
import {
  createRelayServer,
  RELAY_HOP_PROTOCOL,
  RELAY_STOP_PROTOCOL,
  type RelayServer,
} from '../../src/relay/server.js';
import { stopHandler } from '../../src/relay/client.js';
import { createCircuitTransport, type CircuitTransport } from '../../src/relay/transport.js';
import { createStreamUpgrader } from '../../src/relay/upgrade.js';
import { connect, fakePeer, type FakePeer } from '../support/fake-net.js';
import { muxFactory } from '../support/mux.js';

const admin = createIdentity();
const network = createNetwork(admin, { name: 'circuit-tests' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Member {
  peer: FakePeer;
  circuit: CircuitTransport;
  handlers: Map<string, StreamHandler>;
  inbound: Connection[];
}

function member(withToken = true): Member {
  const identity = createIdentity();
  const peer = fakePeer();
  // The fake network's identity must be the handshake's: use the same PeerId.
  (peer as { peerId: PeerId }).peerId = identity.peerId;
  const handlers = new Map<string, StreamHandler>();
  const token = withToken
    ? issueToken(admin, {
        networkId: network.networkId,
        peer: identity.peerId,
        expiresAtMs: Date.now() + 3_600_000,
      })
    : undefined;
  const upgrade = createStreamUpgrader({
    identity,
    network,
    ...(token !== undefined ? { token } : {}),
    tokenVerifier: createTokenVerifier({}, { network }),
    mux: muxFactory({ registry: { handler: (p) => handlers.get(p) }, reporter: noopPeerReporter }),
  });
  const circuit = createCircuitTransport({
    peerId: identity.peerId,
    connections: {
      dial: (target: PeerId | Address) => {
        const peerText =
          'peer' in target && typeof target.peer === 'string' ? target.peer : target.toString();
        const c = peer.connections().find((x) => x.remotePeer.toString() === peerText);
        return c !== undefined ? Promise.resolve(c) : Promise.reject(new Error('no connection'));
      },
    },
    upgrade,
  });
  const inbound: Connection[] = [];
  peer.handlers.set(
    RELAY_STOP_PROTOCOL,
    stopHandler((c) => circuit.acceptCircuit(c), { accept: (r) => circuit.reservedAt(r) }),
  );
  cleanups.push(() => circuit.close());
  return { peer, circuit, handlers, inbound };
}

function relayNode(init: Parameters<typeof createRelayServer>[1] = {}): {
  peer: FakePeer;
  server: RelayServer;
} {
  const peer = fakePeer();
  const server = createRelayServer(
    {
      peerId: peer.peerId,
      connections: peer,
      addresses: () => [parseAddress('/ip4/203.0.113.200/tcp/4001')],
    },
    init,
  );
  peer.handlers.set(RELAY_HOP_PROTOCOL, server.handler);
  cleanups.push(() => server.stop());
  return { peer, server };
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};

async function setup(init: Parameters<typeof createRelayServer>[1] = {}) {
  const r = relayNode(init);
  const a = member();
  const b = member();
  connect(a.peer, r.peer);
  connect(b.peer, r.peer);
  const relayAddr = parseAddress(
    `/ip4/203.0.113.200/tcp/4001/p2p/${r.peer.peerId.toString()}/p2p-circuit`,
  );
  const listener = await a.circuit.listen(relayAddr, (c) => a.inbound.push(c));
  await until(() => listener.addresses().length === 1);
  return { r, a, b, address: listener.addresses()[0] as Address };
}

describe('circuit transport', () => {
  it('reserves, dials through the relay, and runs an authenticated, multiplexed connection end to end', async () => {
    const { a, b, address } = await setup();
    expect(address.toString()).toContain('/p2p-circuit/p2p/');
    a.handlers.set('/echo/1', (s) => void s.pipe(s));
    const conn = await b.circuit.dial(address);
    expect(conn.remotePeer.equals(a.peer.peerId)).toBe(true);
    expect(conn.transport).toBe('relay');
    await until(() => a.inbound.length === 1);
    expect(a.inbound[0]!.remotePeer.equals(b.peer.peerId)).toBe(true);
    const s = await conn.newStream('/echo/1');
    const back = new Promise<Buffer>((resolve) => s.once('data', resolve));
    s.write('through the relay');
    expect(String(await back)).toBe('through the relay');
  });

  it('a client exceeding the relay limit is cut off: the relayed connection closes', async () => {
    const { r, a, b, address } = await setup({ circuitBytes: 200_000 });
    a.handlers.set('/sink/1', (s) => void s.resume());
    const conn = await b.circuit.dial(address);
    const closed = new Promise<void>((resolve) => conn.onClose(() => resolve()));
    const s = await conn.newStream('/sink/1');
    s.on('error', () => {});
    for (let i = 0; i < 10; i++) s.write(Buffer.alloc(64 * 1024));
    await closed;
    expect(conn.status).toBe('closed');
    await until(() => r.server.stats.circuitsCut === 1);
  });

  it('a dialer without a token is refused: the dial fails', async () => {
    const r = relayNode();
    const a = member();
    const stranger = member(false);
    connect(a.peer, r.peer);
    connect(stranger.peer, r.peer);
    const listener = await a.circuit.listen(
      parseAddress(`/ip4/203.0.113.200/tcp/4001/p2p/${r.peer.peerId.toString()}/p2p-circuit`),
      (c) => a.inbound.push(c),
    );
    await until(() => listener.addresses().length === 1);
    await expect(stranger.circuit.dial(listener.addresses()[0] as Address)).rejects.toThrow();
    expect(a.inbound).toHaveLength(0);
  });
});
