// The connection manager: one connection per peer, shared by every caller (concurrent dials to a
// peer share one attempt), dial timeout, reconnection with backoff for keep-alive peers, graceful
// close, ConnectionTracker notifications and connection:open / connection:close events. Admission
// (total, per-direction, per-IP limits, bans) is the gate's: the transports consult it.
import { peerIdFromString } from '@detr/aecomms';
import type {
  AbortOptions,
  Address,
  Clock,
  Connection,
  ConnectionTracker,
  Listener,
  Logger,
  PeerId,
  Rng,
  StreamHandler,
  Timer,
  Transport,
} from '@detr/interface';
import {
  AbortError,
  ClosedError,
  NotStartedError,
  TimeoutError,
  cryptoRng,
  noopConnectionTracker,
  noopLogger,
  systemClock,
  shutdownController,
} from '@detr/interface';
import { UnsupportedAddressError } from '../errors.js';
import type { MutableStreamRegistry } from '../registry.js';
import { raceSignal } from '../util.js';
import { backoffDelay, resolveBackoff, type BackoffSettings } from './backoff.js';
import {
  NoAddressError,
  type ConnectionManager,
  type ConnectionManagerComponents,
  type ConnectionManagerEvents,
  type ConnectionManagerInit,
} from './types.js';

interface PeerState {
  peer: PeerId;
  addresses: Address[];
  conn: Connection | undefined;
  dialing: Promise<Connection> | undefined;
  keepAlive: boolean;
  attempt: number;
  retry: Timer | undefined;
}

const key = (peer: PeerId): string => peer.toString();

class Manager implements ConnectionManager {
  private readonly self: PeerId;
  private readonly transports: readonly Transport[];
  private readonly registry: MutableStreamRegistry;
  private readonly tracker: ConnectionTracker;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly log: Logger;
  private readonly listenOn: readonly Address[];
  private readonly dialTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly backoff: BackoffSettings;
  private readonly maxAddresses: number;
  private readonly peers = new Map<string, PeerState>();
  /** Every open connection, including duplicates being closed. */
  private readonly open = new Set<Connection>();
  private readonly byAddress = new Map<string, Promise<Connection>>();
  private listeners: Listener[] = [];
  private readonly subscribers = new Map<string, Set<(c: Connection) => void>>();
  private running = false;
  private shutdown = shutdownController();

  constructor(components: ConnectionManagerComponents, init: ConnectionManagerInit) {
    if (components.transports.length === 0) throw new TypeError('at least one transport is needed');
    this.self = components.peer;
    this.transports = components.transports;
    this.registry = components.registry;
    this.tracker = components.tracker ?? noopConnectionTracker;
    this.clock = components.clock ?? systemClock;
    this.rng = components.rng ?? cryptoRng;
    this.log = components.logger ?? noopLogger;
    this.listenOn = init.listen ?? [];
    this.dialTimeoutMs = positive('dialTimeoutMs', init.dialTimeoutMs ?? 10_000);
    this.closeTimeoutMs = positive('closeTimeoutMs', init.closeTimeoutMs ?? 5_000);
    this.backoff = resolveBackoff(init.reconnect);
    this.maxAddresses = positive('maxAddressesPerPeer', init.maxAddressesPerPeer ?? 16);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.shutdown = shutdownController();
    try {
      for (const address of this.listenOn) {
        const transport = this.transports.find((t) => t.name === address.transport);
        if (transport === undefined) throw new UnsupportedAddressError(address.toString(), 'any');
        this.listeners.push(await transport.listen(address, (c) => this.adopt(c)));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.shutdown.abort();
    for (const p of this.peers.values()) {
      p.retry?.cancel();
      p.retry = undefined;
    }
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.close().catch(() => {})));
    // One deadline for every graceful close: one listener per connection on its signal (so no
    // MaxListeners warning past 10), and a timer of the clock, which keeps the process alive
    // until the closes are done (AbortSignal.timeout's timer does not).
    const deadline = shutdownController();
    const timer = this.clock.setTimeout(
      () => deadline.abort(new TimeoutError('The connection manager stop timed out')),
      this.closeTimeoutMs,
    );
    try {
      await Promise.all(
        [...this.open].map((c) => c.close({ signal: deadline.signal }).catch(() => c.abort())),
      );
    } finally {
      timer.cancel();
    }
    await Promise.all(this.transports.map((t) => t.close().catch(() => {})));
  }

  addresses(): readonly Address[] {
    return this.listeners.flatMap((l) => l.addresses());
  }

  async dial(target: PeerId | Address, options: AbortOptions = {}): Promise<Connection> {
    if (!this.running) throw new NotStartedError('The connection manager is not started');
    if (options.signal?.aborted === true)
      throw new AbortError(undefined, { cause: options.signal.reason });
    let shared: Promise<Connection>;
    if (isAddress(target)) {
      if (target.peer !== undefined) {
        const peer = peerIdFromString(target.peer);
        this.addAddress(peer, target, true);
        shared = this.dialPeer(peer);
      } else {
        shared = this.dialAddress(target);
      }
    } else {
      shared = this.dialPeer(target);
    }
    return raceSignal(shared, options.signal);
  }

  connections(peer?: PeerId): readonly Connection[] {
    const all = [...this.open].filter((c) => c.status === 'open');
    return peer === undefined ? all : all.filter((c) => c.remotePeer.equals(peer));
  }

  handle(protocol: string, handler: StreamHandler): void {
    this.registry.handle(protocol, handler);
  }

  unhandle(protocol: string): void {
    this.registry.unhandle(protocol);
  }

  addAddress(peer: PeerId, address: Address, first = false): void {
    const p = this.state(peer);
    const text = address.toString();
    p.addresses = p.addresses.filter((a) => a.toString() !== text);
    if (first) p.addresses.unshift(address);
    else p.addresses.push(address);
    if (p.addresses.length > this.maxAddresses) {
      p.addresses = first
        ? p.addresses.slice(0, this.maxAddresses)
        : p.addresses.slice(-this.maxAddresses);
    }
  }

  keepAlive(peer: PeerId, enabled = true): void {
    const p = this.state(peer);
    p.keepAlive = enabled;
    if (!enabled) {
      p.retry?.cancel();
      p.retry = undefined;
      return;
    }
    if (p.conn !== undefined) p.conn.setIdleTimeout(0);
    else if (p.dialing === undefined && this.running) this.scheduleReconnect(p, true);
  }

  async hangUp(peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const p = this.peers.get(key(peer));
    if (p === undefined) return;
    p.keepAlive = false;
    p.retry?.cancel();
    p.retry = undefined;
    await Promise.all(this.connections(peer).map((c) => c.close(options)));
  }

  on<E extends keyof ConnectionManagerEvents>(
    event: E,
    fn: (c: ConnectionManagerEvents[E]) => void,
  ): () => void {
    let set = this.subscribers.get(event);
    if (set === undefined) this.subscribers.set(event, (set = new Set()));
    set.add(fn);
    return () => void set.delete(fn);
  }

  // ---- internals ----------------------------------------------------------------------------

  private state(peer: PeerId): PeerState {
    let p = this.peers.get(key(peer));
    if (p === undefined) {
      p = {
        peer,
        addresses: [],
        conn: undefined,
        dialing: undefined,
        keepAlive: false,
        attempt: 0,
        retry: undefined,
      };
      this.peers.set(key(peer), p);
    }
    return p;
  }

  private dialPeer(peer: PeerId): Promise<Connection> {
    const p = this.state(peer);
    if (p.conn !== undefined && p.conn.status === 'open') return Promise.resolve(p.conn);
    if (p.dialing !== undefined) return p.dialing;
    const addresses = p.addresses.filter((a) => this.transportFor(a) !== undefined);
    if (addresses.length === 0) return Promise.reject(new NoAddressError(peer.toString()));
    const attempt = this.attempt(addresses, peer);
    p.dialing = attempt;
    attempt.then(
      () => (p.dialing = undefined),
      () => (p.dialing = undefined),
    );
    return attempt;
  }

  private dialAddress(address: Address): Promise<Connection> {
    const text = address.toString();
    const pending = this.byAddress.get(text);
    if (pending !== undefined) return pending;
    if (this.transportFor(address) === undefined) {
      return Promise.reject(new UnsupportedAddressError(text, 'any'));
    }
    const attempt = this.attempt([address], undefined);
    this.byAddress.set(text, attempt);
    attempt.then(
      (conn) => {
        this.byAddress.delete(text);
        // Now we know whose address it is: later dials by PeerId (and reconnects) can use it.
        this.addAddress(conn.remotePeer, address);
      },
      () => this.byAddress.delete(text),
    );
    return attempt;
  }

  /** Tries `addresses` in order within one dial timeout; adopts the connection it gets. */
  private async attempt(
    addresses: readonly Address[],
    peer: PeerId | undefined,
  ): Promise<Connection> {
    const timeout = new AbortController();
    const timer = this.clock.setTimeout(
      () => timeout.abort(new TimeoutError()),
      this.dialTimeoutMs,
    );
    try {
      return await this.tryAddresses(
        addresses,
        peer,
        AbortSignal.any([this.shutdown.signal, timeout.signal]),
      );
    } finally {
      timer.cancel();
    }
  }

  private async tryAddresses(
    addresses: readonly Address[],
    peer: PeerId | undefined,
    signal: AbortSignal,
  ): Promise<Connection> {
    let lastError: unknown;
    for (const address of addresses) {
      const transport = this.transportFor(address);
      if (transport === undefined) continue;
      try {
        const conn = await transport.dial(address, {
          signal,
          ...(peer !== undefined ? { expectedPeer: peer } : {}),
        });
        return this.adopt(conn);
      } catch (err) {
        lastError = err;
        this.log.debug({ err, address: address.toString() }, 'dial failed');
        if (signal.aborted) break;
      }
    }
    if (this.shutdown.signal.aborted) throw new ClosedError('The connection manager stopped');
    if (signal.aborted)
      throw new TimeoutError(`Dial timed out after ${this.dialTimeoutMs} ms`, { cause: lastError });
    throw lastError instanceof Error ? lastError : new NoAddressError(String(peer));
  }

  private transportFor(address: Address): Transport | undefined {
    return this.transports.find((t) => t.canDial(address));
  }

  /**
   * Takes a new connection (dialed or accepted). With a connection to the same peer already open,
   * both sides keep the one dialed by the peer whose id sorts first, and close the other gracefully.
   */
  private adopt(conn: Connection): Connection {
    if (!this.running) {
      conn.abort(new ClosedError('The connection manager stopped'));
      return conn;
    }
    const p = this.state(conn.remotePeer);
    const existing = p.conn;
    if (existing !== undefined && existing !== conn && existing.status === 'open') {
      const keepNew = this.preferred(conn, existing);
      const loser = keepNew ? existing : conn;
      void loser.close().catch(() => loser.abort());
      if (!keepNew) {
        this.track(conn, false);
        return existing;
      }
    }
    p.conn = conn;
    p.attempt = 0;
    if (p.keepAlive) conn.setIdleTimeout(0);
    this.track(conn, true);
    return conn;
  }

  /**
   * True when `a` should be kept over `b` (two connections to one peer): the one dialed by the
   * side whose id sorts first wins, so both sides keep the same one; with one dialer for both,
   * the older (`b`) stays.
   */
  private preferred(a: Connection, b: Connection): boolean {
    if (a.direction === b.direction) return false;
    const me = this.self.toString();
    const remote = a.remotePeer.toString();
    const aDialer = a.direction === 'outbound' ? me : remote;
    return aDialer === (me < remote ? me : remote);
  }

  private track(conn: Connection, primary: boolean): void {
    this.open.add(conn);
    try {
      this.tracker.connectionOpened(conn);
    } catch (err) {
      this.log.warn({ err }, 'tracker threw');
    }
    if (primary) this.emit('connection:open', conn);
    conn.onClose(() => {
      this.open.delete(conn);
      try {
        this.tracker.connectionClosed(conn);
      } catch (err) {
        this.log.warn({ err }, 'tracker threw');
      }
      const p = this.peers.get(key(conn.remotePeer));
      if (p !== undefined && p.conn === conn) {
        p.conn = undefined;
        if (primary) this.emit('connection:close', conn);
        if (p.keepAlive && this.running) this.scheduleReconnect(p, false);
      } else if (primary) {
        this.emit('connection:close', conn);
      }
    });
  }

  private scheduleReconnect(p: PeerState, now: boolean): void {
    if (p.retry !== undefined || !this.running) return;
    const delay = now ? 0 : backoffDelay(this.backoff, p.attempt, this.rng);
    p.retry = this.clock.setTimeout(() => {
      p.retry = undefined;
      if (!this.running || !p.keepAlive || (p.conn !== undefined && p.conn.status === 'open'))
        return;
      this.dialPeer(p.peer).then(
        () => {},
        (err: unknown) => {
          p.attempt++;
          this.log.debug({ err, peer: key(p.peer), attempt: p.attempt }, 'reconnect failed');
          if (p.keepAlive && this.running) this.scheduleReconnect(p, false);
        },
      );
    }, delay);
  }

  private emit(event: keyof ConnectionManagerEvents, conn: Connection): void {
    for (const fn of this.subscribers.get(event) ?? []) {
      try {
        fn(conn);
      } catch (err) {
        this.log.warn({ err, event }, 'event listener threw');
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be > 0`);
  return value;
}

function isAddress(x: PeerId | Address): x is Address {
  return typeof (x as Address).transport === 'string';
}

/**
 * Creates a connection manager over `components.transports`.
 *
 * @throws {TypeError} without transports
 * @throws {RangeError} for options out of range
 * @example
 * ```ts
 * const registry = createStreamRegistry()
 * const tcp = createTcpTransport({ identity, network, token, tokenVerifier, registry, gate })
 * const cm = createConnectionManager({ transports: [tcp], registry, tracker }, {
 *   listen: [parseAddress('/ip4/0.0.0.0/tcp/4001')],
 * })
 * await cm.start()
 * const conn = await cm.dial(parseAddress(`/ip4/10.0.0.2/tcp/4001/p2p/${peer}`))
 * ```
 */
export function createConnectionManager(
  components: ConnectionManagerComponents,
  init: ConnectionManagerInit = {},
): ConnectionManager {
  return new Manager(components, init);
}
