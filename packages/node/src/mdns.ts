// LAN discovery with multicast DNS (multicast-dns): a node answers PTR queries for its network's
// service name with its PeerId and addresses in TXT records, queries periodically, and sends a
// goodbye (TTL 0) when it stops. Bound to one interface (127.0.0.1 by default, so tests and the
// demo stay on the machine). Everything received is untrusted: malformed records are skipped and
// a discovered peer still has to pass the handshake and token check.
import makeMdns from 'multicast-dns';
import { parseAddress, type Address, type Logger, noopLogger } from '@detr/interface';

export interface MdnsInit {
  /** Network id (hex); only peers of the same network are discovered. */
  networkId: string;
  peerId: string;
  addresses: () => readonly string[];
  /** @default '127.0.0.1' */
  interface?: string;
  /** @default 5353 */
  port?: number;
  /** @default 10000 */
  queryIntervalMs?: number;
  logger?: Logger;
  onPeer: (peer: string, addresses: Address[]) => void;
  onLost: (peer: string) => void;
  /** The multicast-dns factory (tests inject an in-process bus). @default multicast-dns */
  factory?: MdnsFactory;
}

/** The part of multicast-dns this module uses. */
export type MdnsFactory = (options: {
  interface: string;
  port: number;
  loopback: boolean;
  reuseAddr: boolean;
  multicast: boolean;
}) => MdnsSocket;

export interface MdnsSocket {
  on(event: string, fn: (...args: never[]) => void): unknown;
  query(q: { questions: Array<{ name: string; type: 'PTR' }> }): void;
  respond(r: { answers: MdnsAnswer[] }, cb?: () => void): void;
  destroy(cb?: () => void): void;
}

export type MdnsAnswer =
  | { name: string; type: 'PTR'; ttl: number; data: string }
  | { name: string; type: 'TXT'; ttl: number; data: string[] };

export interface MdnsDiscovery {
  start(): void;
  stop(): Promise<void>;
}

const MAX_ADDRESSES = 16;

/**
 * Creates mDNS discovery.
 *
 * @example
 * ```ts
 * const mdns = createMdnsDiscovery({ networkId, peerId, addresses, onPeer, onLost })
 * mdns.start()
 * ```
 */
export function createMdnsDiscovery(init: MdnsInit): MdnsDiscovery {
  const service = `_detr-${init.networkId.slice(0, 16)}._udp.local`;
  const self = `${init.peerId}.${service}`;
  const log = (init.logger ?? noopLogger).child({ component: 'node:mdns' });
  let mdns: MdnsSocket | undefined;
  const factory = init.factory ?? makeMdns;
  let timer: NodeJS.Timeout | undefined;

  const answers = (ttl: number): { answers: MdnsAnswer[] } => ({
    answers: [
      { name: service, type: 'PTR', ttl, data: self },
      {
        name: self,
        type: 'TXT',
        ttl,
        data: [
          `peer=${init.peerId}`,
          ...init
            .addresses()
            .slice(0, MAX_ADDRESSES)
            .map((a) => `addr=${a}`),
        ],
      },
    ],
  });

  const onResponse = (packet: {
    answers?: Array<{ name: string; type: string; ttl?: number; data?: unknown }>;
  }): void => {
    for (const a of packet.answers ?? []) {
      if (a.type !== 'TXT' || !a.name.endsWith(`.${service}`) || a.name === self) continue;
      const items = Array.isArray(a.data) ? a.data.slice(0, MAX_ADDRESSES + 1) : [];
      let peer: string | undefined;
      const addrs: Address[] = [];
      for (const raw of items) {
        const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
        if (text.startsWith('peer=')) peer = text.slice(5);
        else if (text.startsWith('addr=')) {
          try {
            addrs.push(parseAddress(text.slice(5)));
          } catch {
            // skip malformed addresses
          }
        }
      }
      if (peer === undefined || peer === init.peerId || `${peer}.${service}` !== a.name) continue;
      if (a.ttl === 0) {
        init.onLost(peer);
        continue;
      }
      const own = addrs.filter((x) => x.peer === peer);
      if (own.length > 0) init.onPeer(peer, own);
    }
  };

  return {
    start() {
      if (mdns !== undefined) return;
      mdns = factory({
        interface: init.interface ?? '127.0.0.1',
        port: init.port ?? 5353,
        loopback: true,
        reuseAddr: true,
        multicast: true,
      });
      mdns.on('error', (err: Error) => log.debug({ err: err.message }, 'mdns error'));
      mdns.on('warning', () => {});
      mdns.on('query', (q: { questions?: Array<{ name: string; type: string }> }) => {
        if (q.questions?.some((x) => x.name === service && x.type === 'PTR') === true) {
          mdns?.respond(answers(120));
        }
      });
      mdns.on('response', onResponse);
      const query = (): void => mdns?.query({ questions: [{ name: service, type: 'PTR' }] });
      query();
      mdns.respond(answers(120));
      timer = setInterval(query, init.queryIntervalMs ?? 10_000);
      timer.unref();
    },
    async stop() {
      if (mdns === undefined) return;
      if (timer !== undefined) clearInterval(timer);
      const m = mdns;
      mdns = undefined;
      await new Promise<void>((resolve) => m.respond(answers(0), () => resolve()));
      await new Promise<void>((resolve) => m.destroy(() => resolve()));
    },
  };
}
