// QUIC on the quinn binding of @chainsafe/libp2p-quic. TLS 1.3 with libp2p's certificate extension
// authenticates the remote's Ed25519 key (our detr identity key is the certificate key); then the
// detr hello on the first stream checks the network (signature over the network id, access token
// bound to the authenticated PeerId, versions) before the connection is handed up.
import { HandshakeError, peerIdFromPublicKey } from '@detr/aecomms';
import type {
  Address,
  Connection,
  ConnectionHandler,
  DialOptions,
  Direction,
  Listener,
  PeerId,
  Transport,
} from '@detr/interface';
import { ClosedError, parseAddress, shutdownController } from '@detr/interface';
import { MessageType, SUPPORTED_VERSIONS, decodeMessage } from '@detr/protocol';
import {
  resolveTransport,
  type ResolvedComponents,
  type ResolvedInit,
  type TransportComponents,
  type TransportInit,
} from '../components.js';
import { beginDial, bounded, canDialIp, ipAddressText } from '../dial-util.js';
import { DialFailedError, UnsupportedAddressError } from '../errors.js';
import { connectionId } from '../upgrade.js';
import {
  loadQuinnBinding,
  type NativeClient,
  type NativeConfig,
  type NativeConnection,
  type NativeServer,
  type QuinnBinding,
} from './binding.js';
import { QuicConnection } from './connection.js';
import { encodeHello, verifyHello } from './hello.js';
import { libp2pPrivateKey, remoteHostPort, remoteKeyFromMultiaddr } from './keys.js';
import { readHeaderFrame } from './native-frames.js';

/** Options of the QUIC transport. */
export interface QuicTransportInit extends TransportInit {
  /**
   * Send and receive buffer of the dialing UDP socket (the binding applies it to that socket
   * only), clamped by the OS maximum.
   *
   * @default 4194304 (4 MiB)
   */
  socketBufferBytes?: number;
}

/** Accept calls kept pending per listener: quinn advances handshakes only while one is pending. */
const PENDING_ACCEPTS = 4;
const MAX_HELLO_BYTES = 8192;

interface ServerState {
  server: NativeServer;
  closing: boolean;
  connections: Set<Connection>;
  aborted: Promise<void> | undefined;
}

class QuicTransport implements Transport {
  readonly name = 'quic';
  private readonly c: ResolvedComponents;
  private readonly o: ResolvedInit;
  private readonly binding: QuinnBinding;
  private readonly config: NativeConfig;
  private readonly clients = new Map<4 | 6, NativeClient>();
  private readonly servers = new Set<ServerState>();
  private readonly connections = new Set<Connection>();
  private readonly handshaking = new Set<NativeConnection>();
  /**
   * Aborts in-flight handshakes on close. Every concurrent inbound handshake listens to it (and
   * stops listening when it ends): no MaxListeners limit, their number is the gate's business.
   */
  private readonly shutdown = shutdownController();
  private readonly hello: Uint8Array;

  constructor(components: TransportComponents, init: QuicTransportInit) {
    const { socketBufferBytes, ...rest } = init;
    ({ c: this.c, o: this.o } = resolveTransport(components, rest));
    const buffers = socketBufferBytes ?? 4 * 1024 * 1024;
    if (!Number.isInteger(buffers) || buffers < 65_536 || buffers > 2 ** 30) {
      throw new RangeError('socketBufferBytes must be an integer in 65536..2^30');
    }
    this.binding = loadQuinnBinding();
    const o = this.o;
    const idleMs = Math.max(o.keepaliveTimeoutMs, 1000);
    const key = libp2pPrivateKey(this.c.identity.exportSeed(), this.c.identity.publicKey);
    try {
      this.config = new this.binding.QuinnConfig({
        privateKeyProto: key,
        handshakeTimeout: o.handshakeTimeoutMs,
        maxIdleTimeout: idleMs,
        keepAliveInterval: Math.min(
          o.keepaliveIntervalMs > 0 ? o.keepaliveIntervalMs : 5000,
          Math.floor(idleMs / 2),
        ),
        // Our own limits are enforced per stream type in JS (refusals are then explicit); quinn's
        // limit only needs to stay above them.
        maxConcurrentStreamLimit: o.maxBidirectionalStreams + o.maxUnidirectionalStreams + 17,
        maxStreamData: o.streamWindowBytes,
        maxConnectionData: Math.max(4 * o.streamWindowBytes, 16 * 1024 * 1024),
        receiveBufferSize: buffers,
        sendBufferSize: buffers,
      });
    } finally {
      key.fill(0);
    }
    this.hello = encodeHello(this.c, this.o);
  }

  canDial(address: Address): boolean {
    return canDialIp(address, 'quic');
  }

  async dial(address: Address, options: DialOptions = {}): Promise<Connection> {
    const { expectedPeer, signal } = beginDial(
      {
        label: 'QUIC',
        kind: 'quic',
        shutdown: this.shutdown.signal,
        gate: this.c.gate,
        canDial: (a) => this.canDial(a),
      },
      address,
      options,
    );
    const limits = { signal, clock: this.c.clock, timeoutMs: this.o.handshakeTimeoutMs };
    const client = this.client(address.family === 6 ? 6 : 4);
    let native: NativeConnection;
    try {
      native = await bounded(
        client.outboundConnection(address.host, address.port),
        { ...limits, what: 'QUIC handshake' },
        (late) => late.abort(),
      );
    } catch (err) {
      if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
        throw err;
      throw new DialFailedError(address.toString(), { cause: err });
    }
    this.handshaking.add(native);
    try {
      const peer = this.authenticated(native, 'outbound', address);
      if (expectedPeer !== undefined && !expectedPeer.equals(peer)) {
        throw new HandshakeError('unexpected-peer');
      }
      const exchange = async (): Promise<Connection> => {
        const control = await native.outboundStream();
        await control.write(this.hello);
        const got = await readHeaderFrame(control, {
          maxFrameBytes: MAX_HELLO_BYTES,
          versions: SUPPORTED_VERSIONS,
          types: [MessageType.HandshakePayload],
        });
        if (got === undefined) throw new HandshakeError('closed');
        const remote = verifyHello(
          decodeMessage(MessageType.HandshakePayload, got.frame.body),
          peer,
          this.c,
        );
        const conn = this.connection(native, 'outbound', address, remote, control, got.rest);
        // The listener checks our hello while we check its: its first control frame (an initial
        // ping, sent once it accepted us) is the verdict; a refusal closes the connection instead.
        try {
          await conn.ready;
        } catch (err) {
          conn.abort();
          throw new HandshakeError('closed', { cause: err });
        }
        return conn;
      };
      const conn = await bounded(exchange(), { ...limits, what: 'QUIC hello' }, (late) =>
        late.abort(),
      );
      this.handshaking.delete(native);
      return conn;
    } catch (err) {
      this.handshaking.delete(native);
      native.abort();
      throw this.handshakeError(err);
    }
  }

  async listen(address: Address, onConnection: ConnectionHandler): Promise<Listener> {
    if (this.shutdown.signal.aborted) throw new ClosedError('The QUIC transport is closed');
    if (address.transport !== 'quic' || address.relay !== undefined) {
      throw new UnsupportedAddressError(address.toString(), 'quic');
    }
    let server: NativeServer;
    try {
      server = new this.binding.Server(this.config, address.host, address.port);
    } catch (err) {
      throw new DialFailedError(`listen ${address.toString()}`, { cause: err });
    }
    const state: ServerState = {
      server,
      closing: false,
      connections: new Set(),
      aborted: undefined,
    };
    this.servers.add(state);
    for (let i = 0; i < PENDING_ACCEPTS; i++) void this.acceptLoop(state, onConnection);
    const bound = parseAddress(ipAddressText(address.host, server.port(), 'udp'));
    return Promise.resolve({
      addresses: () => [bound],
      close: () => this.closeServer(state, false),
    });
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    for (const conn of this.connections) conn.abort(new ClosedError('The QUIC transport closed'));
    for (const native of this.handshaking) native.abort();
    await Promise.all([...this.servers].map((s) => this.closeServer(s, true)));
    for (const client of this.clients.values()) client.abort();
    this.clients.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private client(family: 4 | 6): NativeClient {
    let client = this.clients.get(family);
    if (client === undefined) {
      client = new this.binding.Client(this.config, family === 4 ? 0 : 1);
      this.clients.set(family, client);
    }
    return client;
  }

  /** The PeerId TLS authenticated, after the gate allowed it. */
  private authenticated(native: NativeConnection, direction: Direction, remote: Address): PeerId {
    const peer = peerIdFromPublicKey(remoteKeyFromMultiaddr(native.remoteMultiaddr()));
    let allowed: boolean;
    try {
      allowed = this.c.gate.allowPeer(peer, direction, remote);
    } catch (err) {
      throw new HandshakeError('peer-refused', { cause: err });
    }
    if (!allowed) throw new HandshakeError('peer-refused');
    return peer;
  }

  private connection(
    native: NativeConnection,
    direction: Direction,
    remoteAddress: Address,
    remote: ReturnType<typeof verifyHello>,
    control: Parameters<typeof readHeaderFrame>[0],
    rest: Uint8Array,
  ): QuicConnection {
    const conn = new QuicConnection(
      {
        registry: this.c.registry,
        reporter: this.c.reporter,
        clock: this.c.clock,
        logger: this.c.logger,
      },
      {
        id: connectionId('quic'),
        remote,
        remoteAddress,
        direction,
        version: remote.protocolVersion,
        control,
        controlRest: rest,
      },
      native,
      this.o,
    );
    this.connections.add(conn);
    conn.onClose(() => this.connections.delete(conn));
    conn.start();
    return conn;
  }

  private async acceptLoop(state: ServerState, onConnection: ConnectionHandler): Promise<void> {
    while (!state.closing) {
      let native: NativeConnection;
      try {
        native = await state.server.inboundConnection();
      } catch (err) {
        if (state.closing || this.shutdown.signal.aborted) return;
        // A failed incoming handshake (bad certificate, timeout): keep accepting.
        this.c.logger.debug({ err }, 'quic: inbound handshake failed');
        continue;
      }
      if (state.closing) {
        native.abort();
        return;
      }
      void this.inbound(state, native, onConnection);
    }
  }

  private async inbound(
    state: ServerState,
    native: NativeConnection,
    onConnection: ConnectionHandler,
  ): Promise<void> {
    let remoteAddress: Address;
    try {
      const hp = remoteHostPort(native.remoteMultiaddr());
      remoteAddress = parseAddress(ipAddressText(hp.host, hp.port, 'udp'));
    } catch {
      native.abort();
      return;
    }
    if (!this.c.gate.allowInbound(remoteAddress)) {
      native.abort();
      return;
    }
    this.handshaking.add(native);
    let peer: PeerId | undefined;
    try {
      peer = this.authenticated(native, 'inbound', remoteAddress);
      const p = peer;
      const exchange = async (): Promise<QuicConnection> => {
        const control = await native.inboundStream();
        const got = await readHeaderFrame(control, {
          maxFrameBytes: MAX_HELLO_BYTES,
          versions: SUPPORTED_VERSIONS,
          types: [MessageType.HandshakePayload],
        });
        if (got === undefined) throw new HandshakeError('closed');
        // Answer at once and check the dialer's hello while ours travels (as the Noise responder
        // sends its payload before the initiator's): the connection is handed up, and streams are
        // accepted, only once both checks passed.
        const written = control.write(this.hello);
        let remote: ReturnType<typeof verifyHello>;
        try {
          remote = verifyHello(
            decodeMessage(MessageType.HandshakePayload, got.frame.body),
            p,
            this.c,
          );
        } finally {
          await written.catch(() => {});
        }
        return this.connection(native, 'inbound', remoteAddress, remote, control, got.rest);
      };
      const conn = await bounded(
        exchange(),
        {
          signal: this.shutdown.signal,
          clock: this.c.clock,
          timeoutMs: this.o.handshakeTimeoutMs,
          what: 'QUIC hello',
        },
        (late) => late.abort(),
      );
      // The dialer checks our hello in turn; its first control frame says it accepted it.
      await bounded(
        conn.ready,
        {
          signal: this.shutdown.signal,
          clock: this.c.clock,
          timeoutMs: this.o.handshakeTimeoutMs,
          what: 'QUIC hello',
        },
        () => {},
      ).catch((err: unknown) => {
        conn.abort();
        throw err;
      });
      this.handshaking.delete(native);
      if (state.closing) {
        conn.abort(new ClosedError('The listener closed'));
        return;
      }
      state.connections.add(conn);
      conn.onClose(() => {
        state.connections.delete(conn);
        if (state.closing && state.connections.size === 0) void this.closeServer(state, true);
      });
      onConnection(conn);
    } catch (err) {
      this.handshaking.delete(native);
      native.abort();
      const e = this.handshakeError(err);
      if (peer !== undefined && e instanceof HandshakeError && e.reason !== 'peer-refused') {
        this.c.reporter.penalize(peer, 'handshake-failed');
      }
      this.c.logger.debug({ err: e }, 'quic: inbound hello failed');
    }
  }

  private handshakeError(err: unknown): Error {
    if (err instanceof Error && err.name !== 'Error') return err;
    return new HandshakeError('closed', { cause: err });
  }

  /**
   * Stops accepting. The connections the listener accepted share its UDP socket: it is released
   * once they are all closed (at once when `force`).
   */
  private async closeServer(state: ServerState, force: boolean): Promise<void> {
    state.closing = true;
    if (!force && state.connections.size > 0) return;
    if (state.aborted === undefined) {
      this.servers.delete(state);
      for (const conn of state.connections) conn.abort(new ClosedError('The listener closed'));
      state.aborted = bounded(
        state.server.abort(),
        {
          clock: this.c.clock,
          timeoutMs: 2000,
          what: 'QUIC listener close',
        },
        () => {},
      ).catch(() => {});
    }
    await state.aborted;
  }
}

/**
 * The QUIC transport on the quinn binding of `@chainsafe/libp2p-quic` (loaded deliberately, see
 * README): TLS with the detr identity key, the network check on the first stream, native QUIC
 * streams as detr streams.
 *
 * @throws {QuicBindingError} when the binding cannot be loaded or has another API
 * @throws {TypeError} for missing components
 * @throws {RangeError} for options out of range
 * @example
 * ```ts
 * const quic = createQuicTransport({ identity, network, token, tokenVerifier, registry }, {})
 * const listener = await quic.listen(parseAddress('/ip4/127.0.0.1/udp/0/quic'), onConnection)
 * ```
 */
export function createQuicTransport(
  components: TransportComponents,
  init: QuicTransportInit = {},
): Transport {
  return new QuicTransport(components, init);
}
