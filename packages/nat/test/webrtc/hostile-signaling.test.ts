// Hostile signaling reaching a WebRTC listener: an oversized or garbage SDP, a fingerprint that
// does not match its SDP, an answer where the offer belongs, a flood of candidates, garbage
// candidates inside a good negotiation, and a peer that signals as one identity and handshakes as
// another. Each is a typed failure or a silent drop; the authenticated sender is penalized; the
// listener keeps serving.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Address, PeerId, PenaltyReason } from '@detr/interface';
import { parseAddress } from '@detr/interface';
import { SignalingViolationError } from '../../src/errors.js';
import type { SignalBody } from '../../src/signaling/signal.js';
import type { SignalPath } from '../../src/signaling/path.js';
import {
  createWebRTCTransport,
  type SignalRoutes,
  type WebRTCTransport,
} from '../../src/webrtc/transport.js';
import { muxFactory } from '../support/mux.js';
import {
  createWebRTCTestNetwork,
  webrtcEndpoint,
  type WebRTCTestNetwork,
} from '../support/webrtc-net.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
};

type OfferBody = Extract<SignalBody, { kind: 'offer' | 'answer' }>;
const NAT = { mapping: 'unknown', filtering: 'unknown' } as const;
const offer = (sdp: string, fingerprint = 'sha-256 AA:BB'): SignalBody => ({
  kind: 'offer',
  sdp,
  fingerprint,
  stage: 'direct',
  nat: NAT,
});

async function listener(net: WebRTCTestNetwork) {
  const server = webrtcEndpoint(net);
  server.handle('/echo/1', (s) => void s.pipe(s));
  const l = await server.transport.listen(parseAddress('/ip4/127.0.0.1/udp/0/webrtc'), () => {});
  closers.push(() => server.transport.close());
  return {
    ...server,
    transport: server.transport as WebRTCTransport,
    address: l.addresses()[0] as Address,
  };
}

/** Sends `bodies` to `target` as `from` over a signaling path; returns the path. */
async function signalAs(
  net: WebRTCTestNetwork,
  from: PeerId,
  target: PeerId,
  bodies: SignalBody[],
): Promise<SignalPath> {
  const path = await net.hub.routes(from).open(target, { signal: AbortSignal.timeout(5000) });
  for (const b of bodies) await path.send(b);
  return path;
}

const penalized = (p: ReadonlyArray<{ peer: PeerId; reason: PenaltyReason }>, peer: PeerId) =>
  p.filter((x) => x.peer.equals(peer)).map((x) => x.reason);

describe('hostile signaling', () => {
  it('drops an oversized SDP, a garbage SDP, a mismatched fingerprint and an answer-first negotiation, penalizing the sender', async () => {
    const net = createWebRTCTestNetwork();
    const server = await listener(net);
    const cases: SignalBody[][] = [
      [offer(`v=0\r\na=fingerprint:sha-256 AA:BB\r\n${'a=x-pad:0123456789\r\n'.repeat(1000)}`)],
      [offer('v=0\r\na=fingerprint:sha-256 AA:BB\r\nthis is not an SDP\r\n')],
      [offer('v=0\r\na=fingerprint:sha-256 AA:BB\r\n', 'sha-256 CC:DD')],
      [{ ...(offer('v=0\r\na=fingerprint:sha-256 AA:BB\r\n') as OfferBody), kind: 'answer' }],
    ];
    for (const [i, bodies] of cases.entries()) {
      const attacker = net.member().identity.peerId;
      const path = await signalAs(net, attacker, server.peer, bodies);
      await until(() => server.transport.stats.signalingViolations === i + 1);
      path.close();
      expect(penalized(server.penalties, attacker)).toEqual(['protocol-violation']);
    }
    // Still serving.
    const client = webrtcEndpoint(net);
    closers.push(() => client.transport.close());
    const conn = await client.transport.dial(server.address);
    expect(conn.remotePeer.equals(server.peer)).toBe(true);
    await conn.close();
  }, 60_000);

  it('drops unparsable candidates inside a good negotiation, and fails one flooded with candidates', async () => {
    const net = createWebRTCTestNetwork();
    const server = await listener(net);
    /** A client whose signaling adds `extra` after its offer. */
    const client = (extra: SignalBody[]) => {
      const m = net.member();
      const routes = net.hub.routes(m.identity.peerId);
      const tampered: SignalRoutes = {
        onOffer: routes.onOffer,
        async open(target, options) {
          const path = await routes.open(target, options);
          return {
            ...path,
            async send(body) {
              await path.send(body);
              if (body.kind === 'offer') for (const e of extra) await path.send(e);
            },
          };
        },
      };
      const transport = createWebRTCTransport(
        {
          peerId: m.identity.peerId,
          handshake: m.handshake,
          mux: muxFactory({ registry: m.registry, reporter: { penalize() {}, reward() {} } }),
          signaling: tampered,
        },
        { bindAddress: '127.0.0.1', dialTimeoutMs: 8000 },
      );
      closers.push(() => transport.close());
      return { transport, peer: m.identity.peerId };
    };

    const garbage = client([
      { kind: 'candidate', candidate: 'candidate:garbage', mid: '0' },
      { kind: 'candidate', candidate: 'candidate:1 1 UDP 1 999.1.1.1 x typ host', mid: 'nope' },
    ]);
    const conn = await garbage.transport.dial(server.address);
    expect(penalized(server.penalties, garbage.peer)).toEqual([]);
    await conn.close();

    const flood = client(
      Array.from({ length: 100 }, (_, i) => ({
        kind: 'candidate' as const,
        candidate: `candidate:${i} 1 UDP 2122317823 192.0.2.${i % 250} ${9000 + i} typ host`,
        mid: '0',
      })),
    );
    await expect(flood.transport.dial(server.address)).rejects.toThrow();
    await until(() => penalized(server.penalties, flood.peer).length > 0);
    expect(penalized(server.penalties, flood.peer)).toEqual(['protocol-violation']);
    expect(server.transport.stats.signalingViolations).toBe(1);
  }, 60_000);

  it('refuses a peer that signals as one identity and handshakes as another, before accepting it', async () => {
    const net = createWebRTCTestNetwork();
    const server = await listener(net);
    let accepted = 0;
    await server.transport.close();
    const l2 = webrtcEndpoint(net);
    const listening = await l2.transport.listen(parseAddress('/ip4/127.0.0.1/udp/0/webrtc'), () => {
      accepted++;
    });
    closers.push(() => l2.transport.close());
    const claimed = net.member();
    const actual = net.member();
    const liar = createWebRTCTransport(
      {
        peerId: actual.identity.peerId,
        handshake: actual.handshake,
        mux: muxFactory({ registry: actual.registry, reporter: { penalize() {}, reward() {} } }),
        // Signals as `claimed`.
        signaling: net.hub.routes(claimed.identity.peerId),
      },
      { bindAddress: '127.0.0.1', dialTimeoutMs: 8000 },
    );
    closers.push(() => liar.close());
    await expect(liar.dial(listening.addresses()[0] as Address)).rejects.toThrow();
    await until(() => l2.penalties.length > 0);
    expect(penalized(l2.penalties, claimed.identity.peerId)).toEqual(['handshake-failed']);
    expect(accepted).toBe(0);
    expect((l2.transport as WebRTCTransport).stats.inbound).toBe(0);
  }, 60_000);

  it('SignalingViolationError is a SignalingError with its own code', () => {
    const e = new SignalingViolationError('bad SDP');
    expect(e.name).toBe('SignalingViolationError');
    expect(e.code).toBe('SIGNALING_VIOLATION');
  });
});
