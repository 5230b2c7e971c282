// createNat, the entry point a node wires: its components check, the protocols it registers and
// removes, NAT discovery into `status` (against STUN servers on 127.0.0.1), status listeners.
// Connections through it run in the lab (test/lab: the relay scenarios' agents are createNat).
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Address, Connection, StreamHandler } from '@detr/interface';
import { createNat, type Nat, type NatConnectionManager, type NatStatus } from '../src/nat.js';
import { SIGNAL_PROTOCOL } from '../src/signaling/path.js';
import { RELAY_HOP_PROTOCOL, RELAY_STOP_PROTOCOL } from '../src/relay/server.js';
import { webrtcUsers } from '../src/webrtc/runtime.js';
import { startFakeStun, type FakeStun } from './stun/fake-server.js';
import { createWebRTCTestNetwork } from './support/webrtc-net.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function manager(): NatConnectionManager & { handlers: Map<string, StreamHandler> } {
  const handlers = new Map<string, StreamHandler>();
  return {
    handlers,
    connections: () => [] as Connection[],
    dial: () => Promise.reject(new Error('no dials in this test')),
    handle: (p, h) => void handlers.set(p, h),
    unhandle: (p) => void handlers.delete(p),
    addresses: () => [] as Address[],
  };
}

describe('createNat', () => {
  it('needs a stream registry (or a mux factory)', () => {
    const m = createWebRTCTestNetwork().member();
    expect(() =>
      createNat({
        identity: m.identity,
        network: { networkId: new Uint8Array(32) },
        tokenVerifier: null,
        peerId: m.identity.peerId,
        connections: manager(),
        onConnection: () => {},
      }),
    ).toThrow(TypeError);
  });

  it('registers its protocols, discovers the NAT into status, and removes everything at stop', async () => {
    const stun: FakeStun[] = [await startFakeStun({ rfc5780: true }), await startFakeStun()];
    stops.push(() => Promise.all(stun.map((s) => s.close())).then(() => {}));
    const net = createWebRTCTestNetwork();
    const m = net.member();
    const conns = manager();
    const nat: Nat = createNat(
      {
        identity: m.identity,
        network: net.network,
        tokenVerifier: null,
        peerId: m.identity.peerId,
        connections: conns,
        registry: m.registry,
        onConnection: () => {},
      },
      {
        iceServers: stun.map((s) => ({ urls: `stun:127.0.0.1:${s.port}` })),
        bindAddress: '127.0.0.1',
        relayService: true,
        autonatIntervalMs: 0,
      },
    );
    expect(nat.status.checkedAtMs).toBe(0);
    expect(nat.relay).toBeDefined();
    const seen: NatStatus[] = [];
    const off = nat.onStatus((s) => seen.push(s));
    await nat.start();
    stops.push(async () => {
      await nat.stop();
    });
    expect([...conns.handlers.keys()].sort()).toEqual(
      [SIGNAL_PROTOCOL, RELAY_STOP_PROTOCOL, RELAY_HOP_PROTOCOL].sort(),
    );
    const status = await nat.discover();
    expect(status.mapping).toBe('none');
    expect(status.publicAddresses[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(status.checkedAtMs).toBeGreaterThan(0);
    expect(status.turn).toBe(false);
    expect(nat.profile().mapping).toBe('none');
    expect(seen.length).toBeGreaterThanOrEqual(1);
    off();
    await nat.stop();
    expect(conns.handlers.size).toBe(0);
    expect(webrtcUsers()).toBe(0);
  }, 30_000);
});
