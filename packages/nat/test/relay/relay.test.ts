import { afterEach, describe, expect, it } from '@jest/globals';
import type { PeerId, PenaltyReason } from '@detr/interface';
import { parseAddress } from '@detr/interface';
import {
  createRelayServer,
  RELAY_HOP_PROTOCOL,
  RELAY_STOP_PROTOCOL,
  type RelayServer,
  type RelayServerInit,
} from '../../src/relay/server.js';
import {
  openCircuit,
  reserveSlot,
  stopHandler,
  type InboundCircuit,
} from '../../src/relay/client.js';
import { connect, fakePeer, type FakePeer } from '../support/fake-net.js';

const servers: RelayServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

function relayNode(
  init: RelayServerInit = {},
  penalties: Array<[string, PenaltyReason]> = [],
): { peer: FakePeer; server: RelayServer } {
  const peer = fakePeer();
  const server = createRelayServer(
    {
      peerId: peer.peerId,
      connections: peer,
      addresses: () => [parseAddress('/ip4/203.0.113.200/tcp/4001')],
      reporter: {
        penalize: (p: PeerId, r: PenaltyReason) => penalties.push([p.toString(), r]),
        reward: () => {},
      },
    },
    init,
  );
  peer.handlers.set(RELAY_HOP_PROTOCOL, server.handler);
  servers.push(server);
  return { peer, server };
}

function reservedClient(relay: FakePeer): { peer: FakePeer; circuits: InboundCircuit[] } {
  const peer = fakePeer();
  const circuits: InboundCircuit[] = [];
  peer.handlers.set(
    RELAY_STOP_PROTOCOL,
    stopHandler((c) => circuits.push(c), { accept: (r) => r.equals(relay.peerId) }),
  );
  return { peer, circuits };
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('circuit relay', () => {
  it('reserves a slot, advertises circuit addresses, and carries a circuit both ways', async () => {
    const r = relayNode();
    const a = reservedClient(r.peer);
    const [ar] = connect(a.peer, r.peer);
    const reservation = await reserveSlot(ar, a.peer.peerId);
    expect(reservation.relay.equals(r.peer.peerId)).toBe(true);
    expect(reservation.addresses.map(String)).toEqual([
      `/ip4/203.0.113.200/tcp/4001/p2p/${r.peer.peerId.toString()}/p2p-circuit/p2p/${a.peer.peerId.toString()}`,
    ]);
    expect(reservation.limits).toEqual({ durationSec: 600, dataBytes: 16 << 20 });
    expect(r.server.reservedPeers().map(String)).toEqual([a.peer.peerId.toString()]);

    const b = fakePeer();
    const [br] = connect(b, r.peer);
    const { stream } = await openCircuit(br, a.peer.peerId);
    await until(() => a.circuits.length === 1);
    const c = a.circuits[0]!;
    expect(c.source.equals(b.peerId)).toBe(true);
    stream.write('hello a');
    expect(String(await new Promise((res) => c.stream.once('data', res)))).toBe('hello a');
    c.stream.write('hello b');
    expect(String(await new Promise((res) => stream.once('data', res)))).toBe('hello b');
    expect(r.server.stats.circuitsOpen).toBe(1);
    stream.end();
    c.stream.end();
    c.stream.resume();
    stream.resume();
    await until(() => r.server.stats.circuitsOpen === 0);
  });

  it('refuses a circuit to a peer without a reservation', async () => {
    const r = relayNode();
    const a = fakePeer();
    connect(a, r.peer);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    await expect(openCircuit(br, a.peerId)).rejects.toMatchObject({
      name: 'RelayRefusedError',
      status: 'NO_RESERVATION',
    });
  });

  it('refuses reservations past maxReservations', async () => {
    const r = relayNode({ maxReservations: 1 });
    const [a, b] = [fakePeer(), fakePeer()];
    const [ar] = connect(a, r.peer);
    const [br] = connect(b, r.peer);
    await reserveSlot(ar, a.peerId);
    await reserveSlot(ar, a.peerId); // a renewal is not a new reservation
    await expect(reserveSlot(br, b.peerId)).rejects.toMatchObject({
      status: 'RESERVATION_REFUSED',
    });
    expect(r.server.stats.reservationsRefused).toBe(1);
  });

  it('cuts off a client that exceeds the data limit, and counts it', async () => {
    const r = relayNode({ circuitBytes: 10_000 });
    const a = reservedClient(r.peer);
    const [ar] = connect(a.peer, r.peer);
    await reserveSlot(ar, a.peer.peerId);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    const { stream } = await openCircuit(br, a.peer.peerId);
    await until(() => a.circuits.length === 1);
    a.circuits[0]!.stream.resume();
    const closed = new Promise<void>((res) => stream.once('close', () => res()));
    for (let i = 0; i < 5; i++) stream.write(Buffer.alloc(4000));
    await closed;
    expect(stream.destroyed).toBe(true);
    await until(() => a.circuits[0]!.stream.destroyed);
    expect(r.server.stats.circuitsCut).toBe(1);
  });

  it('cuts off a circuit that outlives its duration limit', async () => {
    const r = relayNode({ circuitDurationMs: 200 });
    const a = reservedClient(r.peer);
    const [ar] = connect(a.peer, r.peer);
    await reserveSlot(ar, a.peer.peerId);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    const { stream } = await openCircuit(br, a.peer.peerId);
    await new Promise<void>((res) => stream.once('close', () => res()));
    expect(r.server.stats.circuitsCut).toBe(1);
  });

  it('limits circuits per peer', async () => {
    const r = relayNode({ maxCircuitsPerPeer: 1 });
    const a = reservedClient(r.peer);
    const [ar] = connect(a.peer, r.peer);
    await reserveSlot(ar, a.peer.peerId);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    await openCircuit(br, a.peer.peerId);
    await expect(openCircuit(br, a.peer.peerId)).rejects.toMatchObject({
      status: 'RESOURCE_LIMIT_EXCEEDED',
    });
  });

  it('a target refuses circuits from relays it holds no reservation at', async () => {
    const r = relayNode();
    const other = fakePeer();
    const a = reservedClient(other);
    const [ar] = connect(a.peer, r.peer);
    await reserveSlot(ar, a.peer.peerId);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    await expect(openCircuit(br, a.peer.peerId)).rejects.toMatchObject({
      status: 'CONNECTION_FAILED',
    });
    expect(a.circuits).toHaveLength(0);
  });

  it('penalizes a malformed request', async () => {
    const penalties: Array<[string, PenaltyReason]> = [];
    const r = relayNode({}, penalties);
    const b = fakePeer();
    const [br] = connect(b, r.peer);
    const s = await br.newStream(RELAY_HOP_PROTOCOL);
    s.write(Buffer.from([4, 1, 96, 0xff, 0xff]));
    s.resume();
    await until(() => penalties.length === 1);
    expect(penalties[0]).toEqual([b.peerId.toString(), 'protocol-violation']);
  });
});
