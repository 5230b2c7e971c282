// INTERIM connection manager over TCP, until @detr/transport's (Noise + mux) lands: one control
// socket per peer marks the connection; each stream is its own socket. Every socket starts with
// an authenticated handshake (Ed25519 signature over the other side's nonce, the network id and
// the stream protocol) and a network-token check. It is NOT encrypted: loopback and tests only.
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import {
  ClosedError,
  parseAddress,
  type AbortOptions,
  type Address,
  type Connection,
  type ConnectionStats,
  type Direction,
  type PeerId,
  type Stream,
  type StreamHandler,
  type Logger,
  noopLogger,
} from '@detr/interface';
import type { Identity } from '@detr/aecomms';
import { verifySignature } from '@detr/aecomms';
import type { ConnectionEvents, ConnectionManager } from './ports.js';
import { PeerUnreachableError } from './errors.js';

const CONTROL = '/detr/interim/control';
const MAX_HELLO = 16 * 1024;
const enc = new TextEncoder();

/** Admission of a remote: its token must be valid for its peer id. Returns false to refuse. */
export type Admit = (peer: PeerId, token: string) => boolean;

export interface InterimTcpComponents {
  identity: Identity;
  peerIdFromString: (text: string) => PeerId;
  /** Our token for the network (sent to every remote). */
  token: () => string;
  admit: Admit;
  logger?: Logger;
  /** Called when a remote failed the handshake (bad signature or token). */
  onHandshakeFailure?: (remote: string) => void;
}

export interface InterimTcpInit {
  listen: readonly string[];
  networkId: string;
  /** @default 30000 */
  handshakeTimeoutMs?: number;
}

interface Hello {
  /** The port the sender listens on (streams towards it are dialed there). */
  listenPort: number;
  peer: string;
  network: string;
  protocol: string;
  token: string;
  nonce: string;
  sig: string;
}

function proof(nonceHex: string, network: string, protocol: string): Uint8Array {
  return enc.encode(`detr-interim-v1|${nonceHex}|${network}|${protocol}`);
}

/** Reads one length-prefixed JSON message off a socket, leaving the rest unread. */
function readJson(socket: Socket, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('handshake timeout')), timeoutMs);
    const done = (err?: Error, value?: unknown, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      if (err !== undefined) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const len = buf.readUInt32BE(0);
      if (len > MAX_HELLO) return done(new Error('handshake message too large'));
      if (buf.length < 4 + len) return;
      try {
        done(
          undefined,
          JSON.parse(buf.subarray(4, 4 + len).toString('utf8')),
          buf.subarray(4 + len),
        );
      } catch {
        done(new Error('malformed handshake'));
      }
    };
    const onClose = (): void => done(new ClosedError('socket closed during handshake'));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    socket.resume();
  });
}

function writeJson(socket: Socket, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  socket.write(Buffer.concat([head, body]));
}

let streamIds = 0;

/** A Duplex over a socket whose handshake is done (its leftover bytes are unshifted). */
class SocketStream extends Duplex implements Stream {
  readonly id = ++streamIds;
  readonly unidirectional = false;
  constructor(
    readonly socket: Socket,
    readonly protocol: string,
    readonly direction: Direction,
  ) {
    super({ allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('close', () => {
      if (!this.destroyed) this.destroy();
    });
    // A reset is reported to whoever listens; an unobserved one only closes the stream.
    socket.on('error', (err) => this.destroy(this.listenerCount('error') > 0 ? err : undefined));
    socket.resume();
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.socket.destroyed) this.socket.destroy();
    cb(err);
  }
  reset(reason?: Error): void {
    this.socket.resetAndDestroy();
    this.destroy(reason);
  }
}

function asStream(socket: Socket, protocol: string, direction: Direction): Stream {
  return new SocketStream(socket, protocol, direction);
}

class TcpConnection implements Connection {
  readonly id: string;
  readonly remote: Connection['remote'];
  readonly transport = 'tcp';
  status: Connection['status'] = 'open';
  private readonly open = new Set<Stream>();
  private readonly listeners: Array<(err?: Error) => void> = [];
  private readonly counters: ConnectionStats = {
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    rttMs: undefined,
  };
  constructor(
    private readonly owner: InterimTcpManager,
    readonly remotePeer: PeerId,
    readonly remoteAddress: Address,
    readonly direction: Direction,
    private readonly control: Socket,
    networkId: string,
  ) {
    this.id = `tcp-${randomBytes(4).toString('hex')}`;
    this.remote = { peer: remotePeer, protocolVersion: 1, features: [], networkId };
    control.on('error', () => {});
    control.once('close', () => this.abort());
    control.once('end', () => this.abort());
    control.resume();
  }
  async newStream(protocol: string, options: AbortOptions = {}): Promise<Stream> {
    if (this.status !== 'open') throw new ClosedError('connection closed');
    const socket = await this.owner.openSocket(
      this.remoteAddress,
      protocol,
      this.remotePeer,
      options,
    );
    const s = asStream(socket, protocol, 'outbound');
    this.track(s);
    this.counters.streamsOpened++;
    return s;
  }
  track(s: Stream): void {
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
  }
  streams(): readonly Stream[] {
    return [...this.open];
  }
  stats(): ConnectionStats {
    let sent = 0;
    let recv = 0;
    for (const s of this.open) {
      sent += (s as SocketStream).socket.bytesWritten;
      recv += (s as SocketStream).socket.bytesRead;
    }
    return { ...this.counters, bytesSent: sent, bytesReceived: recv };
  }
  setIdleTimeout(timeoutMs: number): void {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError('bad idle timeout');
  }
  async close(): Promise<void> {
    this.abort();
    await Promise.resolve();
  }
  abort(err?: Error): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.control.destroy();
    for (const s of this.open) s.destroy();
    this.owner.forget(this);
    for (const l of this.listeners.splice(0)) l(err);
  }
  onClose(listener: (err?: Error) => void): void {
    if (this.status === 'closed') queueMicrotask(() => listener());
    else this.listeners.push(listener);
  }
}

class InterimTcpManager implements ConnectionManager {
  private servers: Server[] = [];
  private bound: Address[] = [];
  private readonly conns = new Map<string, TcpConnection>();
  private readonly dialing = new Map<string, Promise<Connection>>();
  private readonly known = new Map<string, Address>();
  private readonly handlers = new Map<string, StreamHandler>();
  private readonly events = new Map<string, Set<(c: Connection) => void>>();
  private readonly sockets = new Set<Socket>();
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private running = false;
  constructor(
    private readonly c: InterimTcpComponents,
    private readonly init: InterimTcpInit,
  ) {
    this.log = (c.logger ?? noopLogger).child({ component: 'node:interim-tcp' });
    this.timeoutMs = init.handshakeTimeoutMs ?? 30_000;
  }
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const text of this.init.listen) {
      const a = parseAddress(text);
      if (a.transport !== 'tcp') continue;
      const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(a.port, a.host, () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      this.servers.push(server);
      this.bound.push(
        parseAddress(
          `/ip${a.family}/${a.host}/tcp/${port}/p2p/${this.c.identity.peerId.toString()}`,
        ),
      );
    }
  }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const c of [...this.conns.values()]) c.abort(new ClosedError('stopped'));
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers = [];
    this.bound = [];
  }
  addresses(): readonly Address[] {
    return this.bound;
  }
  addAddress(peer: PeerId, address: Address): void {
    if (address.transport === 'tcp') this.known.set(peer.toString(), address);
  }
  handle(protocol: string, handler: StreamHandler): void {
    this.handlers.set(protocol, handler);
  }
  unhandle(protocol: string): void {
    this.handlers.delete(protocol);
  }
  on<E extends keyof ConnectionEvents>(event: E, fn: (c: ConnectionEvents[E]) => void): () => void {
    let set = this.events.get(event);
    if (set === undefined) this.events.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
  private emit(event: keyof ConnectionEvents, c: Connection): void {
    for (const fn of this.events.get(event) ?? []) fn(c);
  }
  connections(peer?: PeerId): readonly Connection[] {
    if (peer === undefined) return [...this.conns.values()];
    const c = this.conns.get(peer.toString());
    return c === undefined ? [] : [c];
  }
  forget(c: TcpConnection): void {
    if (this.conns.get(c.remotePeer.toString()) === c) {
      this.conns.delete(c.remotePeer.toString());
      this.emit('connection:close', c);
    }
  }
  /**
   * Registers a new connection; returns the one kept. Two connections to one peer (simultaneous
   * dials) are resolved the same way on both sides: the one dialed by the smaller PeerId stays.
   */
  private register(c: TcpConnection): TcpConnection {
    const key = c.remotePeer.toString();
    const old = this.conns.get(key);
    if (old !== undefined && old !== c && old.status === 'open') {
      const self = this.c.identity.peerId.toString();
      const dialer = (x: TcpConnection): string => (x.direction === 'outbound' ? self : key);
      const keepOld = dialer(old) !== dialer(c) && dialer(old) < dialer(c);
      if (keepOld) {
        c.abort();
        return old;
      }
      this.conns.set(key, c);
      old.abort();
      this.emit('connection:close', old);
    } else {
      this.conns.set(key, c);
    }
    this.emit('connection:open', c);
    return c;
  }

  async dial(target: PeerId | Address, options: AbortOptions = {}): Promise<Connection> {
    if (!this.running) throw new ClosedError('connection manager stopped');
    let address: Address | undefined;
    let peerText: string | undefined;
    if ('transport' in target) {
      address = target;
      peerText = target.peer;
    } else {
      peerText = target.toString();
      address = this.known.get(peerText);
    }
    if (peerText !== undefined) {
      const existing = this.conns.get(peerText);
      if (existing !== undefined) return existing;
      const pending = this.dialing.get(peerText);
      if (pending !== undefined) return pending;
    }
    if (address === undefined) throw new PeerUnreachableError(peerText ?? '?');
    const key = peerText ?? address.toString();
    const p = (async () => {
      const expected = peerText === undefined ? undefined : this.c.peerIdFromString(peerText);
      const { socket, peer } = await this.handshakeOut(address, CONTROL, expected, options);
      const conn = new TcpConnection(this, peer, address, 'outbound', socket, this.init.networkId);
      this.known.set(peer.toString(), address);
      return this.register(conn) as Connection;
    })();
    this.dialing.set(key, p);
    try {
      return await p;
    } catch (err) {
      throw err instanceof PeerUnreachableError
        ? err
        : new PeerUnreachableError(key, { cause: err });
    } finally {
      this.dialing.delete(key);
    }
  }

  async openSocket(
    address: Address,
    protocol: string,
    expected: PeerId,
    options: AbortOptions,
  ): Promise<Socket> {
    return (await this.handshakeOut(address, protocol, expected, options)).socket;
  }

  private async handshakeOut(
    address: Address,
    protocol: string,
    expected: PeerId | undefined,
    options: AbortOptions,
  ): Promise<{ socket: Socket; peer: PeerId }> {
    const socket = connect({
      host: address.host,
      port: address.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const onAbort = (): void => {
      socket.destroy();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const challenge = (await readJson(socket, this.timeoutMs)) as { nonce?: unknown };
      if (typeof challenge.nonce !== 'string') throw new Error('bad challenge');
      const myNonce = randomBytes(16).toString('hex');
      const hello: Hello = {
        listenPort: this.bound[0]?.port ?? 0,
        peer: this.c.identity.peerId.toString(),
        network: this.init.networkId,
        protocol,
        token: this.c.token(),
        nonce: myNonce,
        sig: Buffer.from(
          this.c.identity.sign(proof(challenge.nonce, this.init.networkId, protocol)),
        ).toString('base64'),
      };
      writeJson(socket, hello);
      const reply = (await readJson(socket, this.timeoutMs)) as Partial<Hello> & { ok?: boolean };
      if (reply.ok !== true) throw new Error('refused by remote');
      const peer = this.verify(reply, myNonce, protocol);
      if (expected !== undefined && !peer.equals(expected)) throw new Error('unexpected peer');
      return { socket, peer };
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private verify(h: Partial<Hello>, nonce: string, protocol: string): PeerId {
    if (typeof h.peer !== 'string' || typeof h.sig !== 'string' || typeof h.token !== 'string') {
      throw new Error('malformed hello');
    }
    if (h.network !== this.init.networkId) throw new Error('other network');
    const peer = this.c.peerIdFromString(h.peer);
    if (
      !verifySignature(
        peer.publicKey,
        proof(nonce, this.init.networkId, protocol),
        Buffer.from(h.sig, 'base64'),
      )
    ) {
      throw new Error('bad signature');
    }
    if (!this.c.admit(peer, h.token)) throw new Error('token refused');
    return peer;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const nonce = randomBytes(16).toString('hex');
    writeJson(socket, { nonce });
    void (async () => {
      let peer: PeerId;
      let hello: Partial<Hello>;
      try {
        hello = (await readJson(socket, this.timeoutMs)) as Partial<Hello>;
        if (typeof hello.protocol !== 'string' || typeof hello.nonce !== 'string')
          throw new Error('malformed hello');
        peer = this.verify(hello, nonce, hello.protocol);
      } catch (err) {
        this.log.debug({ err: String(err) }, 'inbound handshake failed');
        this.c.onHandshakeFailure?.(`${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
        writeJson(socket, { ok: false });
        socket.end();
        setTimeout(() => socket.destroy(), 100).unref();
        return;
      }
      const protocol = hello.protocol;
      const handler = protocol === CONTROL ? undefined : this.handlers.get(protocol);
      if (protocol !== CONTROL && handler === undefined) {
        writeJson(socket, { ok: false });
        socket.end();
        return;
      }
      writeJson(socket, {
        ok: true,
        peer: this.c.identity.peerId.toString(),
        network: this.init.networkId,
        token: this.c.token(),
        sig: Buffer.from(
          this.c.identity.sign(proof(hello.nonce, this.init.networkId, protocol)),
        ).toString('base64'),
      });
      if (protocol === CONTROL) {
        // Streams towards the remote go to its listening port on the address it came from.
        const lp = hello.listenPort;
        const port =
          typeof lp === 'number' && Number.isInteger(lp) && lp > 0 && lp < 65536 ? lp : 0;
        const ip = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
        const remote = parseAddress(
          `/ip${ip.includes(':') ? 6 : 4}/${ip}/tcp/${port}/p2p/${peer.toString()}`,
        );
        if (port > 0) this.known.set(peer.toString(), remote);
        this.register(
          new TcpConnection(this, peer, remote, 'inbound', socket, this.init.networkId),
        );
        return;
      }
      const conn = this.conns.get(peer.toString());
      if (conn === undefined) return void socket.destroy();
      const stream = asStream(socket, protocol, 'inbound');
      conn.track(stream);
      Promise.resolve()
        .then(() => (handler as StreamHandler)(stream, conn))
        .catch(() => stream.destroy());
    })();
  }
}

/**
 * The interim TCP connection manager (authenticated, token-checked, not encrypted).
 *
 * @example
 * ```ts
 * const cm = createInterimTcp({ identity, peerIdFromString, token: () => myToken, admit }, { listen: ['/ip4/127.0.0.1/tcp/0'], networkId })
 * ```
 */
export function createInterimTcp(
  components: InterimTcpComponents,
  init: InterimTcpInit,
): ConnectionManager {
  return new InterimTcpManager(components, init);
}
