// TEST ONLY: a detr network (admin, metadata, tokens) and endpoints of each transport in it, as
// the compliance suite's factories want them.
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  createIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
  performHandshake,
  type Identity,
} from '@detr/aecomms';
import type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
} from '@detr/compliance';
import type { Address, PeerId, PenaltyReason, Transport } from '@detr/interface';
import { parseAddress } from '@detr/interface';
import { MessageType, encodeFrame } from '@detr/protocol';
import {
  resolveTransport,
  type TransportComponents,
  type TransportInit,
} from '../../src/components.js';
import {
  createMemoryHub,
  createMemoryTransport,
  type MemoryHub,
} from '../../src/memory/transport.js';
import { createQuicTransport } from '../../src/quic/transport.js';
import { loadQuinnBinding } from '../../src/quic/binding.js';
import { encodeHello } from '../../src/quic/hello.js';
import { libp2pPrivateKey } from '../../src/quic/keys.js';
import { createStreamRegistry } from '../../src/registry.js';
import { createTcpTransport } from '../../src/tcp/transport.js';

export interface TestNetwork {
  admin: Identity;
  network: ReturnType<typeof createNetwork>;
  /** Components of a fresh member (valid token unless `withoutToken`). */
  member(options?: { withoutToken?: boolean; identity?: Identity }): TransportComponents & {
    penalties: Array<{ peer: PeerId; reason: PenaltyReason }>;
    registry: ReturnType<typeof createStreamRegistry>;
  };
}

export function createTestNetwork(): TestNetwork {
  const admin = createIdentity();
  const network = createNetwork(admin, { name: 'transport-tests' });
  return {
    admin,
    network,
    member(options = {}) {
      const identity = options.identity ?? createIdentity();
      const penalties: Array<{ peer: PeerId; reason: PenaltyReason }> = [];
      const registry = createStreamRegistry();
      return {
        identity,
        network,
        ...(options.withoutToken === true
          ? {}
          : {
              token: issueToken(admin, {
                networkId: network.networkId,
                peer: identity.peerId,
                expiresAtMs: Date.now() + 3_600_000,
              }),
            }),
        tokenVerifier: createTokenVerifier({}, { network }),
        registry,
        reporter: {
          penalize: (peer, reason) => penalties.push({ peer, reason }),
          reward: () => {},
        },
        penalties,
      };
    },
  };
}

function initOf(o: ComplianceEndpointOptions | undefined): TransportInit {
  return {
    handshakeTimeoutMs: 5_000,
    ...(o?.maxBidirectionalStreams !== undefined
      ? { maxBidirectionalStreams: o.maxBidirectionalStreams }
      : {}),
    ...(o?.maxUnidirectionalStreams !== undefined
      ? { maxUnidirectionalStreams: o.maxUnidirectionalStreams }
      : {}),
    ...(o?.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    ...(o?.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: o.keepaliveIntervalMs } : {}),
  };
}

function endpointOf(
  net: TestNetwork,
  make: (c: TransportComponents, init: TransportInit) => Transport,
  o: ComplianceEndpointOptions | undefined,
): ComplianceEndpoint {
  const m = net.member({ withoutToken: o?.withoutToken === true });
  const transport = make(m, initOf(o));
  return {
    transport,
    peer: m.identity.peerId,
    handle: (p, h) => m.registry.handle(p, h),
    penalties: m.penalties,
  };
}

/** Runs the initiator side of a real handshake on `socket` as a valid member, then sends garbage. */
async function handshakeThenGarbage(net: TestNetwork, socket: Duplex): Promise<PeerId> {
  const m = net.member();
  const { session } = await performHandshake(socket, {
    role: 'initiator',
    identity: m.identity,
    network: m.network,
    ...(m.token !== undefined ? { token: m.token } : {}),
    tokenVerifier: m.tokenVerifier,
  });
  // A valid Noise message whose plaintext is not a mux frame (a length prefix of 0x7f7f7f…).
  for (const b of session.seal([Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3)]))
    socket.write(b);
  return m.identity.peerId;
}

export function tcpFactory(net: TestNetwork): TransportComplianceFactory {
  return {
    name: 'tcp',
    endpoint: (o) => Promise.resolve(endpointOf(net, createTcpTransport, o)),
    listenAddress: () => parseAddress('/ip4/127.0.0.1/tcp/0'),
    async silentListener() {
      const sockets = new Set<Socket>();
      const server = createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      return {
        address: parseAddress(`/ip4/127.0.0.1/tcp/${port}`),
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((resolve) => server.close(() => resolve()));
        },
      };
    },
    async injectMalformed(address: Address) {
      const { connect } = await import('node:net');
      const socket = connect({ host: address.host, port: address.port });
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const peer = await handshakeThenGarbage(net, socket);
      return { peer, close: () => Promise.resolve(void socket.destroy()) };
    },
  };
}

export function memoryFactory(net: TestNetwork): TransportComplianceFactory {
  const hub: MemoryHub = createMemoryHub();
  const internal = hub as unknown as {
    listeners: Map<string, (s: Duplex, remote: Address) => void>;
  };
  return {
    name: 'memory',
    endpoint: (o) =>
      Promise.resolve(endpointOf(net, (c, init) => createMemoryTransport({ ...c, hub }, init), o)),
    listenAddress: () => parseAddress(`/memory/l-${randomBytes(6).toString('hex')}`),
    silentListener() {
      const name = `silent-${randomBytes(6).toString('hex')}`;
      const held: Duplex[] = [];
      internal.listeners.set(name, (s) => void held.push(s));
      return Promise.resolve({
        address: parseAddress(`/memory/${name}`),
        close: () => {
          internal.listeners.delete(name);
          for (const s of held) s.destroy();
          return Promise.resolve();
        },
      });
    },
    async injectMalformed(address: Address) {
      const accept = internal.listeners.get(address.host);
      if (accept === undefined) throw new Error('no listener');
      const { createDuplexPair } = await import('../../src/memory/duplex-pair.js');
      const [mine, theirs] = createDuplexPair();
      accept(theirs, parseAddress('/memory/injector'));
      const peer = await handshakeThenGarbage(net, mine);
      return { peer, close: () => Promise.resolve(void mine.destroy()) };
    },
  };
}

export function quicFactory(net: TestNetwork): TransportComplianceFactory {
  return {
    name: 'quic',
    endpoint: (o) => Promise.resolve(endpointOf(net, createQuicTransport, o)),
    listenAddress: () => parseAddress('/ip4/127.0.0.1/udp/0/quic'),
    async silentListener() {
      const socket = createSocket('udp4');
      socket.on('message', () => {});
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return {
        address: parseAddress(`/ip4/127.0.0.1/udp/${socket.address().port}/quic`),
        close: () => new Promise((resolve) => socket.close(() => resolve())),
      };
    },
    async injectMalformed(address: Address) {
      // A real member: TLS with its identity key, a valid hello, then a stream whose header is not
      // a frame.
      const m = net.member();
      const { c, o } = resolveTransport(m, {});
      const b = loadQuinnBinding();
      const key = libp2pPrivateKey(m.identity.exportSeed(), m.identity.publicKey);
      const client = new b.Client(
        new b.QuinnConfig({
          privateKeyProto: key,
          handshakeTimeout: 5000,
          maxIdleTimeout: 5000,
          keepAliveInterval: 1000,
          maxConcurrentStreamLimit: 16,
          maxStreamData: 1 << 20,
          maxConnectionData: 1 << 22,
          receiveBufferSize: 1 << 20,
          sendBufferSize: 1 << 20,
        }),
        0,
      );
      const conn = await client.outboundConnection(address.host, address.port);
      const control = await conn.outboundStream();
      await control.write(encodeHello(c, o));
      await control.read(8192); // the listener's hello: we are in
      // Accept it in turn (our first control frame), then open a stream with a bad header.
      await control.write(encodeFrame(MessageType.MuxPing, { nonce: Uint8Array.of(0, 0, 0, 1) }));
      const bad = await conn.outboundStream();
      await bad.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3));
      return {
        peer: m.identity.peerId,
        close: () => {
          conn.abort();
          client.abort();
          return Promise.resolve();
        },
      };
    },
  };
}
