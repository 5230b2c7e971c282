// How a node finds and joins the others: the bootstrap list (kept alive), mDNS on the LAN, the DHT
// routing table filled from every new connection, presence announced after the first connection
// (and again when nat's relay addresses change), and the offline mailbox read after the first
// connection and every `offlineFetchIntervalMs`.
import type { Logger, PeerId } from '@detr/interface';
import { peerIdFromString } from '@detr/aecomms';
import type { Dpeers } from '@detr/dpeers';
import type { ConnectionManager } from '@detr/transport';
import type { Nat } from '@detr/nat';
import { createMdnsDiscovery, type MdnsDiscovery, type MdnsFactory } from './mdns.js';
import type { NodeDht } from './net/dht.js';
import type { NodeEvents } from './node-types.js';

/** The background connectivity work of a node. */
export interface Discovery {
  start(): void;
  stop(): Promise<void>;
  /** Publishes our presence (listen and relay addresses) now. */
  announce(): Promise<void>;
}

/**
 * Starts the bootstrap, mDNS, DHT join, presence and offline-fetch loops.
 *
 * @example
 * ```ts
 * const discovery = createDiscovery({ ... }, { bootstrap: [], mdns: undefined })
 * discovery.start()
 * ```
 */
export function createDiscovery(
  c: {
    connections: ConnectionManager;
    dpeers: Dpeers;
    dht: NodeDht;
    nat: Nat | undefined;
    logger: Logger;
    connect: (address: string) => Promise<PeerId>;
    fetchOffline: () => Promise<unknown>;
    emit: <E extends keyof NodeEvents>(event: E, payload: NodeEvents[E]) => void;
    addresses: () => string[];
    mdnsFactory?: MdnsFactory;
  },
  init: {
    bootstrap: readonly string[];
    networkId: string;
    peerId: string;
    mdns: { interface: string; port: number } | undefined;
    offlineFetchIntervalMs: number;
  },
): Discovery {
  const timers = new Set<NodeJS.Timeout>();
  const offs: Array<() => void> = [];
  let running = false;
  let mdns: MdnsDiscovery | undefined;
  let joinTimer: NodeJS.Timeout | undefined;
  let firstContact = false;
  let announced = false;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (running) fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  const announce = async (): Promise<void> => {
    await c.dht.announce(c.connections.addresses(), c.nat?.relayAddresses() ?? []);
    announced = true;
  };
  /**
   * A new connection: join the DHT through it (a bootstrap round, at most one per 500 ms) while
   * our routing table is nearly empty; once joined, the DHT learns peers from its own traffic.
   */
  const join = (): void => {
    if (joinTimer !== undefined) return;
    if (firstContact && c.dht.dht.peers().length >= 3) return;
    joinTimer = setTimeout(() => {
      joinTimer = undefined;
      if (!running) return;
      void c.dht.dht
        .bootstrap()
        .catch(() => 0)
        .then(() => {
          if (firstContact || !running) return;
          // First contact: say where we are, then read the mailbox.
          firstContact = true;
          return announce()
            .catch((err: unknown) => c.logger.debug({ err: String(err) }, 'announce failed'))
            .then(() => c.fetchOffline())
            .catch(() => {});
        });
    }, 500);
    joinTimer.unref();
  };
  const fetchLoop = (): void =>
    later(init.offlineFetchIntervalMs, () => {
      void c
        .fetchOffline()
        .catch(() => {})
        .finally(fetchLoop);
    });

  const startMdns = (m: { interface: string; port: number }): void => {
    mdns = createMdnsDiscovery({
      networkId: init.networkId,
      peerId: init.peerId,
      addresses: c.addresses,
      interface: m.interface,
      port: m.port,
      logger: c.logger,
      ...(c.mdnsFactory !== undefined ? { factory: c.mdnsFactory } : {}),
      onPeer: (text, addresses) => {
        let peer: PeerId;
        try {
          peer = peerIdFromString(text);
        } catch {
          return;
        }
        if (c.connections.connections(peer).length > 0 || c.dpeers.isBanned(peer)) return;
        for (const a of addresses) c.connections.addAddress(peer, a);
        c.dpeers.addAddresses(peer, addresses, 'mdns');
        c.emit('peer:discovered', { peer, addresses: addresses.map(String), source: 'mdns' });
        void c.connections.dial(peer).catch(() => {});
      },
      onLost: (text) => {
        try {
          c.emit('peer:lost', { peer: peerIdFromString(text) });
        } catch {
          // malformed id: ignored
        }
      },
    });
    mdns.start();
  };

  return {
    announce,
    start() {
      if (running) return;
      running = true;
      offs.push(c.connections.on('connection:open', join));
      if (c.nat !== undefined) {
        let last = '';
        offs.push(
          c.nat.onStatus((s) => {
            const now = s.relayAddresses.join(' ');
            if (now === last) return;
            last = now;
            if (announced) void announce().catch(() => {});
          }),
        );
      }
      for (const text of init.bootstrap) {
        void c.connect(text).then(
          (peer) => c.connections.keepAlive(peer),
          (err: unknown) => c.logger.warn({ err: String(err), address: text }, 'bootstrap failed'),
        );
      }
      if (init.mdns !== undefined) startMdns(init.mdns);
      fetchLoop();
    },
    async stop() {
      if (!running) return;
      running = false;
      for (const off of offs.splice(0)) off();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (joinTimer !== undefined) clearTimeout(joinTimer);
      joinTimer = undefined;
      await mdns?.stop();
      mdns = undefined;
    },
  };
}
