// The stored form of registry entries and bans, in the store's `peers` namespace:
//   p/<peer id text>  → PeerJson   (written in batches every persistIntervalMs and on stop)
//   b/<peer id text>  → BanJson    (written at once, expiring with the ban through the store's TTL)
import { parseAddress, type PeerId } from '@detr/interface';
import { jsonCodec, type Codec } from '@detr/stored';
import type { Entry, MutableAddress } from './entry.js';
import type { AddressSource } from './types.js';

export const PEER_PREFIX = 'p/';
export const BAN_PREFIX = 'b/';

const SOURCES: readonly AddressSource[] = [
  'bootstrap',
  'dht',
  'mdns',
  'identify',
  'peer-exchange',
  'inbound',
  'manual',
];

export interface AddressJson {
  a: string;
  s: AddressSource;
  add: number;
  ok?: number;
  bad?: number;
  n: number;
}

export interface PeerJson {
  v: 1;
  id: string;
  addrs: AddressJson[];
  protos: string[];
  lat?: number;
  first: number;
  seen?: number;
  score: number;
  scoreAt: number;
  bans: number;
  lastBan?: number;
  until?: number;
  why?: string;
}

export interface BanJson {
  v: 1;
  id: string;
  until: number;
  why: string;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const optNum = (x: unknown): boolean => x === undefined || isNum(x);

function fail(what: string): never {
  throw new TypeError(`malformed stored ${what}`);
}

export const peerJsonCodec: Codec<PeerJson> = jsonCodec<PeerJson>('dpeers-peer', (v) => {
  const o = v as Partial<PeerJson>;
  if (o === null || typeof o !== 'object' || o.v !== 1 || typeof o.id !== 'string') fail('peer');
  if (!Array.isArray(o.addrs) || !Array.isArray(o.protos)) fail('peer');
  if (!isNum(o.first) || !isNum(o.score) || !isNum(o.scoreAt) || !isNum(o.bans)) fail('peer');
  if (!optNum(o.lat) || !optNum(o.seen) || !optNum(o.lastBan) || !optNum(o.until)) fail('peer');
  for (const a of o.addrs as unknown[]) {
    const x = a as Partial<AddressJson>;
    if (x === null || typeof x !== 'object' || typeof x.a !== 'string') fail('peer address');
    if (!SOURCES.includes(x.s as AddressSource) || !isNum(x.add) || !isNum(x.n))
      fail('peer address');
    if (!optNum(x.ok) || !optNum(x.bad)) fail('peer address');
  }
  if (!(o.protos as unknown[]).every((p) => typeof p === 'string')) fail('peer');
  return o as PeerJson;
});

export const banJsonCodec: Codec<BanJson> = jsonCodec<BanJson>('dpeers-ban', (v) => {
  const o = v as Partial<BanJson>;
  if (o === null || typeof o !== 'object' || o.v !== 1 || typeof o.id !== 'string') fail('ban');
  if (!isNum(o.until) || typeof o.why !== 'string') fail('ban');
  return o as BanJson;
});

export function toJson(e: Entry): PeerJson {
  const j: PeerJson = {
    v: 1,
    id: e.id,
    addrs: [...e.addresses.values()].map((a) => {
      const x: AddressJson = {
        a: a.address.toString(),
        s: a.source,
        add: a.addedAtMs,
        n: a.failures,
      };
      if (a.lastSuccessMs !== undefined) x.ok = a.lastSuccessMs;
      if (a.lastFailureMs !== undefined) x.bad = a.lastFailureMs;
      return x;
    }),
    protos: e.protocols,
    first: e.firstSeenMs,
    score: e.score,
    scoreAt: e.scoreAtMs,
    bans: e.banCount,
  };
  if (e.latencyMs !== undefined) j.lat = e.latencyMs;
  if (e.lastSeenMs !== undefined) j.seen = e.lastSeenMs;
  if (e.lastBanMs !== undefined) j.lastBan = e.lastBanMs;
  if (e.bannedUntilMs !== undefined) j.until = e.bannedUntilMs;
  if (e.banReason !== undefined) j.why = e.banReason;
  return j;
}

/** Rebuilds an entry; addresses that no longer parse are dropped. */
export function fromJson(j: PeerJson, peer: PeerId): Entry {
  const addresses = new Map<string, MutableAddress>();
  for (const a of j.addrs) {
    try {
      const address = parseAddress(a.a);
      addresses.set(address.toString(), {
        address,
        source: a.s,
        addedAtMs: a.add,
        lastSuccessMs: a.ok,
        lastFailureMs: a.bad,
        failures: a.n,
      });
    } catch {
      // skip an address this version cannot parse
    }
  }
  return {
    peer,
    id: j.id,
    addresses,
    protocols: [...j.protos],
    latencyMs: j.lat,
    firstSeenMs: j.first,
    lastSeenMs: j.seen,
    score: Math.min(100, Math.max(-100, j.score)),
    scoreAtMs: j.scoreAt,
    banCount: j.bans,
    lastBanMs: j.lastBan,
    bannedUntilMs: j.until,
    banReason: j.why,
    connections: 0,
    protectedBy: new Set(),
  };
}
