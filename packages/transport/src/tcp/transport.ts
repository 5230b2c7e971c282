// TCP: socket → gate.allowInbound (before a byte is read) → Noise XX with the token check and
// gate.allowPeer (aecomms) → stream multiplexer.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type {
  Address,
  Connection,
  ConnectionHandler,
  DialOptions,
  Listener,
  Transport,
} from '@detr/interface';
import { ClosedError, parseAddress, shutdownController } from '@detr/interface';
import {
  resolveTransport,
  type ResolvedComponents,
  type ResolvedInit,
  type TransportComponents,
  type TransportInit,
} from '../components.js';
import { beginDial, canDialIp, ipAddressText } from '../dial-util.js';
import { DialFailedError, UnsupportedAddressError } from '../errors.js';
import { OpenSet } from '../open-set.js';
import { upgrade, upgradeInbound } from '../upgrade.js';

/** Remembers an error a socket emits before it connected (listeners removed on connect or stop). */
class ConnectWatch {
  error: Error | undefined;
  private readonly onError: (err: Error) => void;
  private readonly onConnect: () => void;

  constructor(private readonly socket: Socket) {
    this.onError = this.failed.bind(this);
    this.onConnect = this.stop.bind(this);
    socket.on('error', this.onError);
    socket.on('connect', this.onConnect);
  }

  stop(): void {
    this.socket.off('error', this.onError);
    this.socket.off('connect', this.onConnect);
  }

  private failed(err: Error): void {
    this.error ??= err;
  }
}

class TcpTransport implements Transport {
  readonly name = 'tcp';
  private readonly c: ResolvedComponents;
  private readonly o: ResolvedInit;
  private readonly servers = new Set<Server>();
  private readonly open = new OpenSet();
  /**
   * Aborted on close. Neither dials nor inbound handshakes listen to it (an abort listener on an
   * AbortSignal costs ~10 us to add and remove): close() destroys the sockets they hold, in
   * `open`, which ends them. A dial the caller gives a signal listens to that one.
   */
  private readonly shutdown = shutdownController();
  private readonly dialPreamble: Parameters<typeof beginDial>[0];

  constructor(components: TransportComponents, init: TransportInit) {
    ({ c: this.c, o: this.o } = resolveTransport(components, init));
    this.dialPreamble = {
      label: 'TCP',
      kind: 'tcp',
      shutdown: this.shutdown.signal,
      gate: this.c.gate,
      canDial: this.canDial.bind(this),
    };
  }

  canDial(address: Address): boolean {
    return canDialIp(address, 'tcp');
  }

  async dial(address: Address, options: DialOptions = {}): Promise<Connection> {
    const { expectedPeer, signal } = beginDial(this.dialPreamble, address, options);
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    this.open.track(socket);
    // The handshake starts at once (its time limit covers the TCP connect too): its first message
    // waits in the socket and leaves the moment the connection is up, with no turn of the event
    // loop in between. A socket error before that is a failure to connect, not to handshake.
    const failedToConnect = new ConnectWatch(socket);
    let conn: Connection;
    try {
      conn = await upgrade(socket, this.c, this.o, {
        direction: 'outbound',
        remoteAddress: address,
        transport: 'tcp',
        expectedPeer,
        // Only the caller's signal (combined with shutdown) is listened to; see `shutdown`.
        signal: options.signal === undefined ? undefined : signal,
      });
    } catch (err) {
      const cause = failedToConnect.error;
      if (cause !== undefined) throw new DialFailedError(address.toString(), { cause });
      if (this.shutdown.signal.aborted && options.signal?.aborted !== true) {
        throw new ClosedError('The TCP transport closed', { cause: err });
      }
      throw err;
    } finally {
      failedToConnect.stop();
    }
    this.open.adopt(conn);
    return conn;
  }

  async listen(address: Address, onConnection: ConnectionHandler): Promise<Listener> {
    if (this.shutdown.signal.aborted) throw new ClosedError('The TCP transport is closed');
    if (address.transport !== 'tcp' || address.relay !== undefined) {
      throw new UnsupportedAddressError(address.toString(), 'tcp');
    }
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) =>
      this.inbound(socket, onConnection),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.c.logger.warn({ err }, 'tcp listener error'));
    this.servers.add(server);
    const info = server.address() as AddressInfo;
    const bound = parseAddress(ipAddressText(info.address, info.port, 'tcp'));
    return {
      addresses: () => [bound],
      close: () => {
        // Stop accepting now; the server's own close callback waits for every accepted socket,
        // which stay open (they are connections now).
        if (this.servers.delete(server)) server.close();
        return Promise.resolve();
      },
    };
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    this.open.closeAll(new ClosedError('The TCP transport closed'));
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private inbound(socket: Socket, onConnection: ConnectionHandler): void {
    const host = socket.remoteAddress;
    const port = socket.remotePort;
    let remote: Address;
    try {
      if (host === undefined || port === undefined) throw new Error('no remote address');
      remote = parseAddress(ipAddressText(host, port, 'tcp'));
    } catch {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    upgradeInbound(
      socket,
      remote,
      'tcp',
      { c: this.c, o: this.o, shutdown: this.shutdown.signal, open: this.open },
      onConnection,
    );
  }
}

/**
 * The TCP transport: Noise XX (with the network token check) and the detr stream multiplexer over
 * TCP sockets.
 *
 * @throws {TypeError} for missing components
 * @throws {RangeError} for options out of range
 * @example
 * ```ts
 * const tcp = createTcpTransport({ identity, network, token, tokenVerifier, registry, gate }, {})
 * const listener = await tcp.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), onConnection)
 * const conn = await tcp.dial(listener.addresses()[0])
 * ```
 */
export function createTcpTransport(
  components: TransportComponents,
  init: TransportInit = {},
): Transport {
  return new TcpTransport(components, init);
}
