// In-process transport for fast tests of higher layers: a duplex pair instead of a socket, but
// the same gate checks, the real Noise handshake with the token check, and the real multiplexer.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
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
import { beginDial } from '../dial-util.js';
import { DialFailedError, UnsupportedAddressError } from '../errors.js';
import { OpenSet } from '../open-set.js';
import { upgrade, upgradeInbound } from '../upgrade.js';
import { createDuplexPair } from './duplex-pair.js';

type Accept = (socket: Duplex, remote: Address) => void;

/** A namespace of in-memory listeners: transports sharing a hub reach each other. */
export interface MemoryHub {
  /** Names listening now. */
  names(): readonly string[];
}

class Hub implements MemoryHub {
  readonly listeners = new Map<string, Accept>();
  names(): readonly string[] {
    return [...this.listeners.keys()];
  }
}

/**
 * A new, empty namespace for in-memory transports (one per test keeps tests apart).
 *
 * @example
 * ```ts
 * const hub = createMemoryHub()
 * const a = createMemoryTransport({ ...components, hub })
 * ```
 */
export function createMemoryHub(): MemoryHub {
  return new Hub();
}

const defaultHub = new Hub();

/** Components of the in-memory transport. */
export interface MemoryTransportComponents extends TransportComponents {
  /**
   * The namespace to listen in and dial into.
   *
   * @default one hub shared by the whole process
   */
  hub?: MemoryHub;
}

class MemoryTransport implements Transport {
  readonly name = 'memory';
  private readonly c: ResolvedComponents;
  private readonly o: ResolvedInit;
  private readonly hub: Hub;
  private readonly own = new Set<string>();
  private readonly open = new OpenSet();
  /**
   * Aborts in-flight dials on close (each listens to it until it ends: no MaxListeners limit).
   * Inbound handshakes only check it: close() destroys their sockets, held in `open`.
   */
  private readonly shutdown = shutdownController();

  constructor(components: MemoryTransportComponents, init: TransportInit) {
    ({ c: this.c, o: this.o } = resolveTransport(components, init));
    this.hub = (components.hub as Hub | undefined) ?? defaultHub;
  }

  canDial(address: Address): boolean {
    return address.transport === 'memory' && address.relay === undefined;
  }

  async dial(address: Address, options: DialOptions = {}): Promise<Connection> {
    const { expectedPeer, signal } = beginDial(
      {
        label: 'memory',
        kind: 'memory',
        shutdown: this.shutdown.signal,
        gate: this.c.gate,
        canDial: (a) => this.canDial(a),
      },
      address,
      options,
    );
    const accept = this.hub.listeners.get(address.host);
    if (accept === undefined) throw new DialFailedError(address.toString());
    const [mine, theirs] = createDuplexPair();
    this.open.track(mine);
    accept(theirs, parseAddress(`/memory/dialer-${randomBytes(4).toString('hex')}`));
    const conn = await upgrade(mine, this.c, this.o, {
      direction: 'outbound',
      remoteAddress: parseAddress(`/memory/${address.host}`),
      transport: 'memory',
      expectedPeer,
      signal,
    });
    this.open.adopt(conn);
    return conn;
  }

  listen(address: Address, onConnection: ConnectionHandler): Promise<Listener> {
    if (this.shutdown.signal.aborted) {
      return Promise.reject(new ClosedError('The memory transport is closed'));
    }
    if (address.transport !== 'memory' || address.relay !== undefined) {
      return Promise.reject(new UnsupportedAddressError(address.toString(), 'memory'));
    }
    const name = address.host;
    if (this.hub.listeners.has(name)) {
      return Promise.reject(new RangeError(`/memory/${name} is already listening`));
    }
    this.hub.listeners.set(name, (socket, remote) =>
      upgradeInbound(
        socket,
        remote,
        'memory',
        { c: this.c, o: this.o, shutdown: this.shutdown.signal, open: this.open },
        onConnection,
      ),
    );
    this.own.add(name);
    const bound = parseAddress(`/memory/${name}`);
    return Promise.resolve({
      addresses: () => [bound],
      close: () => {
        this.unlisten(name);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    this.shutdown.abort();
    for (const name of [...this.own]) this.unlisten(name);
    this.open.closeAll(new ClosedError('The memory transport closed'));
    return Promise.resolve();
  }

  private unlisten(name: string): void {
    if (!this.own.delete(name)) return;
    this.hub.listeners.delete(name);
  }
}

/**
 * The in-memory transport: for tests of higher layers, in one process. Addresses are
 * `/memory/<name>`. Connections run the real handshake (token check, gate) and multiplexer.
 *
 * @throws {TypeError} for missing components
 * @example
 * ```ts
 * const hub = createMemoryHub()
 * const a = createMemoryTransport({ ...componentsA, hub })
 * await a.listen(parseAddress('/memory/a'), onConnection)
 * const conn = await createMemoryTransport({ ...componentsB, hub }).dial(parseAddress('/memory/a'))
 * ```
 */
export function createMemoryTransport(
  components: MemoryTransportComponents,
  init: TransportInit = {},
): Transport {
  return new MemoryTransport(components, init);
}
