// The connection stack: @detr/transport's TCP (and QUIC, when configured) transports under its
// connection manager, with dpeers as gate and tracker; @detr/nat's WebRTC and circuit transports
// beside them. Every connection, whatever its transport, completed the detr handshake (Noise XX or
// QUIC's TLS + hello) with a valid network token before anything reaches a stream handler.
//
// The token verifier given to every transport is wrapped: it remembers which token id each
// authenticated peer presented (so a revocation cuts only that holder's connections) and counts
// refused tokens as handshake failures.
import { randomBytes } from 'node:crypto';
import {
  parseAddress,
  type Address,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type PeerRouting,
  type SharedRecords,
  type Transport,
} from '@detr/interface';
import {
  createTokenVerifier,
  type CryptoProvider,
  type Identity,
  type TokenVerifier,
} from '@detr/aecomms';
import { SignedEnvelope } from '@detr/protocol';
import {
  createConnectionManager,
  createMuxConnection,
  createQuicTransport,
  createStreamRegistry,
  createTcpTransport,
  type ConnectionManager,
  type MuxInit,
} from '@detr/transport';
import { createNat, type Nat, type NatInit } from '@detr/nat';
import type { Dpeers } from '@detr/dpeers';
import type { Network } from '../networks.js';

/** What {@link createStack} builds. */
export interface Stack {
  readonly connections: ConnectionManager;
  readonly tokens: TokenVerifier;
  /** The NAT service (WebRTC, circuits, relay), once {@link Stack.attachNat} built it. */
  readonly nat: Nat | undefined;
  /**
   * Builds the NAT service (when configured) over the DHT, which is built on this stack's manager
   * (so it comes second). Call once, before `connections.start()`.
   */
  attachNat(dht: SharedRecords & PeerRouting): Nat | undefined;
  /** Token id (hex) each authenticated peer presented. */
  tokenOf(peer: PeerId): string | undefined;
}

/** Options of the stack (from the config). */
export interface StackInit {
  listen: readonly string[];
  dialTimeoutMs: number;
  handshakeTimeoutMs: number;
  clockSkewMs: number;
  mux: MuxInit;
  /** Build the NAT service (WebRTC + circuits + relay). */
  nat: NatInit | undefined;
  /** Dial and accept WebRTC connections (circuits work either way). */
  webrtc: boolean;
}

const decode = (text: string): SignedEnvelope =>
  SignedEnvelope.decode(new Uint8Array(Buffer.from(text, 'base64url')));

/**
 * Builds the connection stack of a node.
 *
 * @throws {RangeError} for bad network material or options out of range
 */
export function createStack(
  c: {
    identity: Identity;
    network: Network;
    token: string;
    revocations?: string;
    dpeers: Dpeers;
    /** Where transports report misbehaviour (dpeers, counted by the node). */
    reporter: PeerReporter;
    /** Told about every refused token (a handshake failure). */
    onTokenRefused: (peer: PeerId) => void;
    /** aecomms crypto provider of handshakes and sessions. */
    provider: CryptoProvider;
    clock: Clock;
    logger: Logger;
  },
  init: StackInit,
): Stack {
  const networkId = new Uint8Array(Buffer.from(c.network.id, 'hex'));
  const inner = createTokenVerifier(
    { clock: c.clock },
    {
      network: { networkId, adminKeys: c.network.adminKeys },
      clockSkewMs: init.clockSkewMs,
      ...(c.revocations !== undefined ? { revocationList: decode(c.revocations) } : {}),
    },
  );
  const peerTokens = new Map<string, string>();
  const tokens: TokenVerifier = {
    networkId: inner.networkId,
    verify(token, peer) {
      try {
        const v = inner.verify(token, peer);
        peerTokens.set(peer.toString(), v.tokenIdHex);
        return v;
      } catch (err) {
        c.onTokenRefused(peer);
        throw err;
      }
    },
    updateRevocationList: (list) => inner.updateRevocationList(list),
    get revocationSeq() {
      return inner.revocationSeq;
    },
  };
  let token: SignedEnvelope | undefined;
  try {
    token = decode(c.token);
  } catch {
    token = undefined; // no usable token: every remote refuses us, as it should
  }
  const registry = createStreamRegistry();
  const security = {
    identity: c.identity,
    network: { networkId },
    ...(token !== undefined ? { token } : {}),
    tokenVerifier: tokens,
    provider: c.provider,
  };
  const transportComponents = {
    ...security,
    registry,
    gate: c.dpeers,
    reporter: c.reporter,
    clock: c.clock,
    logger: c.logger,
  };
  const transportInit = { ...init.mux, handshakeTimeoutMs: init.handshakeTimeoutMs };
  const listen = init.listen.map((a) => parseAddress(a));
  const transports: Transport[] = [createTcpTransport(transportComponents, transportInit)];
  // QUIC when a listen address names it (the quinn binding loads only then).
  if (listen.some((a) => a.transport === 'quic'))
    transports.push(createQuicTransport(transportComponents, transportInit));

  let nat: Nat | undefined;
  // The manager's accept path, captured from the pseudo-listener below: nat hands its inbound
  // WebRTC and relayed connections (and upgrades) to it.
  let adopt: ((conn: Connection) => void) | undefined;
  const accept = (conn: Connection): void => {
    if (adopt === undefined) {
      conn.abort();
      return;
    }
    adopt(conn);
  };
  if (init.nat !== undefined) {
    const lazy = (): Nat => nat as Nat;
    // Circuit dials go first: a relayed address also names a TCP address (the relay's).
    transports.unshift({
      name: 'relay',
      canDial: (a: Address) => a.relay !== undefined && a.peer !== undefined,
      dial: (a, o) => lazy().transports.circuit.dial(a, o),
      listen: () => Promise.reject(new TypeError('circuits are listened on through nat')),
      close: () => Promise.resolve(),
    });
    transports.push({
      name: 'webrtc',
      canDial: (a: Address) => init.webrtc && lazy().transports.webrtc.canDial(a),
      dial: (a, o) => lazy().transports.webrtc.dial(a, o),
      // The manager "listens" here to hand us its accept path; nat listens for real at start.
      listen: (address: Address, handler: (conn: Connection) => void) => {
        adopt = handler;
        const advertised = parseAddress(
          `/ip4/${address.host}/udp/0/webrtc/p2p/${c.identity.peerId.toString()}`,
        );
        return Promise.resolve({
          addresses: () => (init.webrtc ? [advertised] : []),
          close: () => Promise.resolve(),
        });
      },
      close: () => Promise.resolve(),
    });
    listen.push(parseAddress(`/ip4/${init.nat.bindAddress ?? '127.0.0.1'}/udp/0/webrtc`));
  }
  const cm = createConnectionManager(
    {
      peer: c.identity.peerId,
      transports,
      registry,
      tracker: c.dpeers,
      clock: c.clock,
      logger: c.logger,
    },
    { listen, dialTimeoutMs: init.dialTimeoutMs },
  );
  const attachNat = (dht: SharedRecords & PeerRouting): Nat | undefined => {
    if (init.nat === undefined || nat !== undefined) return nat;
    const mux = init.mux;
    nat = createNat(
      {
        ...security,
        peerId: c.identity.peerId,
        connections: {
          connections: (peer?: PeerId) => cm.connections(peer),
          dial: (target, options) => cm.dial(target, options),
          handle: (p, h) => cm.handle(p, h),
          unhandle: (p) => cm.unhandle(p),
          addresses: () => cm.addresses().filter((a) => a.transport !== 'webrtc'),
        },
        mux: (pipe, info) => {
          const conn = createMuxConnection(
            { pipe, registry, reporter: c.reporter, clock: c.clock, logger: c.logger },
            {
              id: `webrtc-${randomBytes(6).toString('hex')}`,
              ...info,
              version: info.remote.protocolVersion,
            },
            mux,
          );
          conn.start();
          return conn;
        },
        onConnection: (conn) => {
          if (conn.transport === 'webrtc' && !init.webrtc) {
            conn.abort(); // WebRTC is off: inbound offers are not kept
            return;
          }
          // A direct connection replacing a relayed one: the relayed one goes first.
          if (conn.transport === 'webrtc') {
            for (const old of cm.connections(conn.remotePeer))
              if (old.transport === 'relay') void old.close().catch(() => old.abort());
          }
          accept(conn);
        },
        onUpgrade: (direct, relayed) => {
          void relayed.close().catch(() => relayed.abort());
          accept(direct);
        },
        records: dht,
        routing: dht,
        gate: c.dpeers,
        reporter: c.reporter,
        clock: c.clock,
        logger: c.logger,
      },
      init.nat,
    );
    return nat;
  };
  return {
    connections: cm,
    tokens,
    get nat() {
      return nat;
    },
    attachNat,
    tokenOf: (peer) => peerTokens.get(peer.toString()),
  };
}
