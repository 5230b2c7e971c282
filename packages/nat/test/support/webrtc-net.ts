// TEST ONLY: a detr network (admin, tokens) and WebRTC endpoints in it on 127.0.0.1, signaling
// through an in-memory hub (what a mutual peer or the DHT carries in production), as the transport
// compliance suite's factories want them.
import {
  createIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
  type Identity,
} from '@detr/aecomms';
import type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
} from '@detr/compliance';
import type { Address, Connection, PeerId, PenaltyReason, StreamRegistry } from '@detr/interface';
import { noopLogger, parseAddress, systemClock } from '@detr/interface';
import { peerIdFromString } from '@detr/aecomms';
import { NoSignalingRouteError } from '../../src/errors.js';
import type { OfferHandler } from '../../src/signaling/service.js';
import { answerStrategy, dialStrategy } from '../../src/webrtc/negotiate.js';
import { detrHandshake } from '../../src/webrtc/handshake.js';
import { secureSession, type MuxFactory } from '../../src/webrtc/secure.js';
import {
  createWebRTCTransport,
  type SignalRoutes,
  type WebRTCTransportInit,
} from '../../src/webrtc/transport.js';
import { parseIceServers } from '../../src/ice/config.js';
import { muxFactory } from './mux.js';
import { memoryPathPair } from './memory-path.js';

/** Signaling between endpoints of one test: a path per `open`, delivered to the target's handler. */
export function createSignalHub(): {
  routes(self: PeerId): SignalRoutes;
  register(peer: PeerId, h: OfferHandler | undefined): void;
} {
  const handlers = new Map<string, OfferHandler>();
  const register = (peer: PeerId, h: OfferHandler | undefined): void => {
    if (h === undefined) handlers.delete(peer.toString());
    else handlers.set(peer.toString(), h);
  };
  return {
    register,
    routes: (self) => ({
      open(target) {
        const handler = handlers.get(target.toString());
        if (handler === undefined) return Promise.reject(new NoSignalingRouteError());
        const [mine, theirs] = memoryPathPair();
        theirs.next().then(
          (offer) => handler(theirs, self, offer),
          () => {},
        );
        return Promise.resolve(mine);
      },
      onOffer: (h) => register(self, h),
    }),
  };
}

interface Member {
  identity: Identity;
  penalties: Array<{ peer: PeerId; reason: PenaltyReason }>;
  registry: StreamRegistry & {
    handle(p: string, h: Parameters<ComplianceEndpoint['handle']>[1]): void;
  };
  handshake: ReturnType<typeof detrHandshake>;
}

export function createWebRTCTestNetwork() {
  const admin = createIdentity();
  const network = createNetwork(admin, { name: 'nat-tests' });
  const hub = createSignalHub();
  const member = (withoutToken = false): Member => {
    const identity = createIdentity();
    const penalties: Array<{ peer: PeerId; reason: PenaltyReason }> = [];
    const handlers = new Map<string, Parameters<ComplianceEndpoint['handle']>[1]>();
    const token = withoutToken
      ? undefined
      : issueToken(admin, {
          networkId: network.networkId,
          peer: identity.peerId,
          expiresAtMs: Date.now() + 3_600_000,
        });
    return {
      identity,
      penalties,
      registry: { handler: (p) => handlers.get(p), handle: (p, h) => void handlers.set(p, h) },
      handshake: detrHandshake(
        {
          identity,
          network,
          ...(token !== undefined ? { token } : {}),
          tokenVerifier: createTokenVerifier({}, { network }),
        },
        { timeoutMs: 5000 },
      ),
    };
  };
  return { admin, network, hub, member };
}

export type WebRTCTestNetwork = ReturnType<typeof createWebRTCTestNetwork>;

export function webrtcEndpoint(
  net: WebRTCTestNetwork,
  o: ComplianceEndpointOptions = {},
  init: WebRTCTransportInit = {},
): ComplianceEndpoint {
  const m = net.member(o.withoutToken === true);
  const reporter = {
    penalize: (peer: PeerId, reason: PenaltyReason) => m.penalties.push({ peer, reason }),
    reward: () => {},
  };
  const transport = createWebRTCTransport(
    {
      peerId: m.identity.peerId,
      handshake: m.handshake,
      mux: muxFactory({ registry: m.registry, reporter }, o),
      signaling: net.hub.routes(m.identity.peerId),
      reporter,
    },
    { bindAddress: '127.0.0.1', dialTimeoutMs: 10_000, ...init },
  );
  return {
    transport,
    peer: m.identity.peerId,
    handle: (p, h) => m.registry.handle(p, h),
    penalties: m.penalties,
  };
}

const ctx = {
  ice: parseIceServers([]),
  profile: () => ({ mapping: 'unknown', filtering: 'unknown' }) as const,
  now: () => systemClock.now(),
  bindAddress: '127.0.0.1',
  logger: noopLogger,
};

export function webrtcFactory(net: WebRTCTestNetwork): TransportComplianceFactory {
  return {
    name: 'webrtc',
    endpoint: (o) => Promise.resolve(webrtcEndpoint(net, o)),
    listenAddress: () => parseAddress('/ip4/127.0.0.1/udp/0/webrtc'),
    silentListener() {
      // Answers ICE and DTLS, then never speaks the handshake.
      const peer = createIdentity().peerId;
      const held: Array<{ close(): void }> = [];
      net.hub.register(peer, (path, _from, offer) => {
        answerStrategy(ctx, path, offer, { timeoutMs: 10_000 }).then(
          (n) => held.push(n.session),
          () => {},
        );
      });
      return Promise.resolve({
        address: parseAddress(`/ip4/127.0.0.1/udp/0/webrtc/p2p/${peer.toString()}`),
        close: () => {
          net.hub.register(peer, undefined);
          for (const s of held) s.close();
          return Promise.resolve();
        },
      });
    },
    async injectMalformed(address: Address) {
      // A valid member: negotiates, completes the bound handshake, then sends a non-frame.
      const m = net.member();
      const target = peerIdFromString(address.peer as string);
      const neg = await dialStrategy(ctx, {
        openPath: () =>
          net.hub.routes(m.identity.peerId).open(target, { signal: AbortSignal.timeout(10_000) }),
        directTimeoutMs: 10_000,
        lastTimeoutMs: 10_000,
      });
      let held: Connection | undefined;
      const garbage: MuxFactory = (pipe) => {
        pipe.start({ onMessage: () => {}, onDrain: () => {}, onEnd: () => {}, onError: () => {} });
        pipe.write([[Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3)]]);
        held = {
          close: () => Promise.resolve(neg.session.close()),
          onClose: () => {},
          abort: () => neg.session.close(),
        } as unknown as Connection;
        return held;
      };
      await secureSession(neg, {
        direction: 'outbound',
        expectedPeer: target,
        remoteAddress: parseAddress('/ip4/127.0.0.1/udp/0/webrtc'),
        handshake: m.handshake,
        mux: garbage,
        features: [],
      });
      return { peer: m.identity.peerId, close: () => Promise.resolve(neg.session.close()) };
    },
  };
}
