// An in-process connection manager: connections and streams between nodes of one process, with
// the `Connection`/`Stream` contracts of @detr/interface. Unit tests and the in-process demo run
// on it; @detr/transport's memory transport replaces it when that package lands.
import { Duplex } from 'node:stream';
import {
  ClosedError,
  parseAddress,
  throwIfAborted,
  type AbortOptions,
  type Address,
  type Connection,
  type ConnectionStats,
  type ConnectionStatus,
  type Direction,
  type PeerId,
  type Stream,
  type StreamHandler,
} from '@detr/interface';
import type { ConnectionEvents, ConnectionManager } from './ports.js';
import { PeerUnreachableError } from './errors.js';

class MemStream extends Duplex implements Stream {
  other: MemStream | undefined;
  readonly id: number;
  readonly protocol: string;
  readonly direction: Direction;
  readonly unidirectional = false;
  private readonly counters: ConnectionStats;
  constructor(id: number, protocol: string, direction: Direction, counters: ConnectionStats) {
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.id = id;
    this.protocol = protocol;
    this.direction = direction;
    this.counters = counters;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error) => void): void {
    const other = this.other;
    if (other === undefined || other.destroyed) {
      cb(new ClosedError('stream reset'));
      return;
    }
    this.counters.bytesSent += chunk.length;
    // Copy: the receiver may keep views of what it reads.
    setImmediate(() => {
      if (!other.destroyed) other.push(Buffer.from(chunk));
      cb();
    });
  }
  override _final(cb: (err?: Error) => void): void {
    const other = this.other;
    setImmediate(() => {
      if (other !== undefined && !other.destroyed) other.push(null);
      cb();
    });
  }
  reset(reason?: Error): void {
    const other = this.other;
    this.destroy(reason);
    if (other !== undefined && !other.destroyed)
      other.destroy(new ClosedError('stream reset by remote'));
  }
}

class MemConnection implements Connection {
  other: MemConnection | undefined;
  readonly id: string;
  readonly remotePeer: PeerId;
  readonly remote: Connection['remote'];
  readonly remoteAddress: Address;
  readonly direction: Direction;
  readonly transport = 'memory';
  status: ConnectionStatus = 'open';
  private readonly open = new Set<MemStream>();
  private readonly listeners: Array<(err?: Error) => void> = [];
  private readonly counters: ConnectionStats = {
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    rttMs: undefined,
  };
  private nextId: number;
  constructor(
    readonly owner: MemoryConnectionManager,
    remote: MemoryConnectionManager,
    direction: Direction,
    id: string,
  ) {
    this.id = id;
    this.remotePeer = remote.peer;
    this.remote = {
      peer: remote.peer,
      protocolVersion: 1,
      features: [],
      networkId: remote.networkId,
    };
    this.remoteAddress = remote.address;
    this.direction = direction;
    this.nextId = direction === 'outbound' ? 1 : 2;
  }
  async newStream(protocol: string, options: AbortOptions = {}): Promise<Stream> {
    throwIfAborted(options.signal);
    await new Promise((r) => setImmediate(r));
    const other = this.other;
    if (this.status !== 'open' || other === undefined || other.status !== 'open') {
      throw new ClosedError('connection closed');
    }
    const handler = other.owner.handlerFor(protocol);
    if (handler === undefined)
      throw new ClosedError(`protocol ${protocol} not supported by remote`);
    const id = this.nextId;
    this.nextId += 2;
    const mine = new MemStream(id, protocol, 'outbound', this.counters);
    const theirs = new MemStream(id, protocol, 'inbound', other.counters);
    mine.other = theirs;
    theirs.other = mine;
    this.track(mine);
    other.track(theirs);
    this.counters.streamsOpened++;
    queueMicrotask(() => {
      Promise.resolve()
        .then(() => handler(theirs, other))
        .catch((err: unknown) => theirs.reset(err instanceof Error ? err : undefined));
    });
    return mine;
  }
  private track(s: MemStream): void {
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
  }
  streams(): readonly Stream[] {
    return [...this.open];
  }
  stats(): ConnectionStats {
    return { ...this.counters };
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
    for (const s of this.open) s.destroy(err ?? new ClosedError('connection closed'));
    this.open.clear();
    this.owner.forget(this);
    for (const l of this.listeners.splice(0)) l(err);
    this.other?.abort(err === undefined ? undefined : new ClosedError('remote aborted'));
  }
  onClose(listener: (err?: Error) => void): void {
    if (this.status === 'closed') queueMicrotask(() => listener());
    else this.listeners.push(listener);
  }
}

/** A set of in-process nodes that can connect to one another. */
export interface MemoryHub {
  readonly managers: Map<string, MemoryConnectionManager>;
  /** Cuts (true) or restores (false) reachability of `peer`: dials to/from it fail. */
  setOffline(peer: PeerId, offline: boolean): void;
}

/**
 * A hub for {@link createMemoryConnectionManager}.
 *
 * @example
 * ```ts
 * const hub = createMemoryHub()
 * const cm = createMemoryConnectionManager(hub, identity.peerId)
 * ```
 */
export function createMemoryHub(): MemoryHub {
  const managers = new Map<string, MemoryConnectionManager>();
  return {
    managers,
    setOffline(peer, offline) {
      const m = managers.get(peer.toString());
      if (m === undefined) return;
      m.offline = offline;
      if (offline) for (const c of m.connections()) c.abort(new ClosedError('went offline'));
    },
  };
}

let seq = 0;

class MemoryConnectionManager implements ConnectionManager {
  readonly address: Address;
  offline = false;
  private running = false;
  private readonly conns = new Map<string, MemConnection>();
  private readonly handlers = new Map<string, StreamHandler>();
  private readonly events = new Map<string, Set<(c: Connection) => void>>();
  constructor(
    private readonly hub: MemoryHub,
    readonly peer: PeerId,
    readonly networkId: string,
  ) {
    this.address = parseAddress(`/memory/m${(++seq).toString(36)}/p2p/${peer.toString()}`);
  }
  start(): void {
    if (this.running) return;
    this.running = true;
    this.hub.managers.set(this.peer.toString(), this);
  }
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.hub.managers.delete(this.peer.toString());
    for (const c of [...this.conns.values()]) c.abort(new ClosedError('stopped'));
  }
  addresses(): readonly Address[] {
    return [this.address];
  }
  handlerFor(protocol: string): StreamHandler | undefined {
    return this.running ? this.handlers.get(protocol) : undefined;
  }
  forget(c: MemConnection): void {
    if (this.conns.get(c.remotePeer.toString()) === c) {
      this.conns.delete(c.remotePeer.toString());
      this.emit('connection:close', c);
    }
  }
  private emit(event: keyof ConnectionEvents, c: Connection): void {
    for (const fn of this.events.get(event) ?? []) fn(c);
  }
  async dial(target: PeerId | Address, options: AbortOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal);
    if (!this.running) throw new ClosedError('connection manager stopped');
    const key = 'transport' in target ? target.peer : target.toString();
    if (key === undefined) throw new PeerUnreachableError(target.toString());
    const existing = this.conns.get(key);
    if (existing !== undefined) return existing;
    await new Promise((r) => setImmediate(r));
    const again = this.conns.get(key);
    if (again !== undefined) return again;
    const remote = this.hub.managers.get(key);
    if (remote === undefined || !remote.running || remote.offline || this.offline) {
      throw new PeerUnreachableError(key);
    }
    if (remote.networkId !== this.networkId) throw new PeerUnreachableError(key);
    const id = `mem-${(++seq).toString(36)}`;
    const mine = new MemConnection(this, remote, 'outbound', id);
    const theirs = new MemConnection(remote, this, 'inbound', id);
    mine.other = theirs;
    theirs.other = mine;
    this.conns.set(key, mine);
    remote.accept(theirs);
    this.emit('connection:open', mine);
    return mine;
  }
  accept(c: MemConnection): void {
    const key = c.remotePeer.toString();
    this.conns.get(key)?.abort(new ClosedError('replaced'));
    this.conns.set(key, c);
    this.emit('connection:open', c);
  }
  connections(peer?: PeerId): readonly Connection[] {
    if (peer === undefined) return [...this.conns.values()];
    const c = this.conns.get(peer.toString());
    return c === undefined ? [] : [c];
  }
  handle(protocol: string, handler: StreamHandler): void {
    this.handlers.set(protocol, handler);
  }
  unhandle(protocol: string): void {
    this.handlers.delete(protocol);
  }
  addAddress(): void {}
  on<E extends keyof ConnectionEvents>(event: E, fn: (c: ConnectionEvents[E]) => void): () => void {
    let set = this.events.get(event);
    if (set === undefined) this.events.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
}

/**
 * An in-process {@link ConnectionManager} on `hub` (for tests and the in-process demo).
 *
 * @example
 * ```ts
 * const cm = createMemoryConnectionManager(hub, peerId)
 * await cm.start()
 * ```
 */
export function createMemoryConnectionManager(
  hub: MemoryHub,
  peer: PeerId,
  networkId = '00'.repeat(32),
): ConnectionManager {
  return new MemoryConnectionManager(hub, peer, networkId);
}
