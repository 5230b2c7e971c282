// Options, their defaults, and their checks.
import { parseAddress, type Address } from '@detr/interface';
import type { IpDiversityInit } from './routing/table.js';
import type { RecordValidator } from './records/record.js';

/** User options of {@link createDht}; every one but `networkId` has a default (README table). */
export interface DhtInit {
  /** The network this DHT belongs to (32 bytes). Only peers and records of it are accepted. */
  networkId: Uint8Array;
  /** Bucket size and replication factor. @default 20 */
  k?: number;
  /** Concurrent requests per lookup path. @default 3 */
  alpha?: number;
  /** Disjoint lookup paths (S/Kademlia); a peer is queried by one path only. @default 2 */
  disjointPaths?: number;
  /** Time to wait for one response. @default 2000 */
  requestTimeoutMs?: number;
  /** Most requests one lookup may send (a bound, not a target). @default 200 */
  maxRequestsPerLookup?: number;
  /** Bootstrap addresses (`/ip4/…/tcp/…/p2p/<peer>`; the `/p2p/` part is optional). @default [] */
  bootstrap?: ReadonlyArray<string | Address>;
  /** First wait before retrying a bootstrap that reached nobody; doubles each time. @default 1000 */
  bootstrapRetryMinMs?: number;
  /** Longest wait between bootstrap retries. @default 60000 */
  bootstrapRetryMaxMs?: number;
  /** A bucket not looked up for this long is refreshed with a random lookup. @default 600000 */
  refreshIntervalMs?: number;
  /** Refresh every bucket right after joining (better tables at once, more messages). @default true */
  refreshOnJoin?: boolean;
  /** A bucket refresh lookup ends once this many of its closest peers answered. @default 8 */
  refreshWidth?: number;
  /** Peers of a full bucket seen more recently than this are not pinged to make room. @default 300000 */
  livenessCheckAfterMs?: number;
  /** How many least recently seen peers of a full bucket are pinged. @default 1 */
  livenessPingCount?: number;
  /** IP-diversity limits of the routing table; `false` disables them. */
  ipDiversity?: IpDiversityInit | false;
  /** Do not ask peers to add this node to their tables (it cannot be reached). @default false */
  clientMode?: boolean;
  /** Largest record value. @default 16384 */
  maxValueBytes?: number;
  /** Longest record TTL accepted. @default 86400 */
  maxTtlSec?: number;
  /** TTL of `put()` records when not given. @default 3600 */
  defaultTtlSec?: number;
  /** Tolerated clock difference with publishers. @default 60000 */
  maxClockSkewMs?: number;
  /** Records one peer may have us hold. @default 1024 */
  maxRecordsPerPeer?: number;
  /** Bytes one peer may have us hold. @default 4194304 */
  maxBytesPerPeer?: number;
  /** Records held in all. @default 65536 */
  maxRecords?: number;
  /** Bytes held in all. @default 67108864 */
  maxBytes?: number;
  /** The publisher republishes its records after this fraction of their TTL. @default 0.5 */
  republishFraction?: number;
  /** Holders re-replicate each record they hold this often (skipped if a peer stored it to them meanwhile). @default 3600000 */
  replicationIntervalMs?: number;
  /** Send held records to a new peer that is among the k closest to them. @default true */
  replicateToNewPeers?: boolean;
  /** A get stops after this many peers answered with a valid record (or when the lookup ends). @default 3 */
  getQuorum?: number;
  /** How often `announce()` republishes the presence record. @default 300000 */
  presenceRefreshMs?: number;
  /** TTL of presence records. @default 900 */
  presenceTtlSec?: number;
  /** Extra key namespaces and their validators (`/<name>/…`); `m` and `presence` are built in. */
  validators?: Readonly<Record<string, RecordValidator>>;
  /** Save the routing table to the store so a restart can bootstrap from it. @default true */
  persistRoutingTable?: boolean;
  /** Most peers of the routing table saved. @default 200 */
  persistMaxPeers?: number;
  /** Shortest time between two saves of the routing table. @default 300000 */
  persistIntervalMs?: number;
}

/**
 * The defaults of {@link DhtInit}.
 *
 * @example
 * ```ts
 * createDht(components, { networkId, k: DHT_DEFAULTS.k * 2 })
 * ```
 */
export const DHT_DEFAULTS = {
  k: 20,
  alpha: 3,
  disjointPaths: 2,
  requestTimeoutMs: 2000,
  maxRequestsPerLookup: 200,
  bootstrapRetryMinMs: 1000,
  bootstrapRetryMaxMs: 60_000,
  refreshIntervalMs: 600_000,
  refreshOnJoin: true,
  refreshWidth: 8,
  livenessCheckAfterMs: 300_000,
  livenessPingCount: 1,
  ipDiversity: { maxPerSubnetPerBucket: 2, maxPerSubnet: 3, limitLoopback: false },
  clientMode: false,
  maxValueBytes: 16_384,
  maxTtlSec: 86_400,
  defaultTtlSec: 3600,
  maxClockSkewMs: 60_000,
  maxRecordsPerPeer: 1024,
  maxBytesPerPeer: 4 * 1024 * 1024,
  maxRecords: 65_536,
  maxBytes: 64 * 1024 * 1024,
  republishFraction: 0.5,
  replicationIntervalMs: 3_600_000,
  replicateToNewPeers: true,
  getQuorum: 3,
  presenceRefreshMs: 300_000,
  presenceTtlSec: 900,
  persistRoutingTable: true,
  persistMaxPeers: 200,
  persistIntervalMs: 300_000,
} as const;

/** The options after defaults and checks. */
export interface DhtConfig extends Required<
  Omit<DhtInit, 'bootstrap' | 'ipDiversity' | 'validators'>
> {
  bootstrap: Address[];
  ipDiversity: Required<IpDiversityInit> | false;
  validators: Readonly<Record<string, RecordValidator>>;
}

function int(
  name: string,
  v: number | undefined,
  dflt: number,
  min: number,
  max = 2 ** 31,
): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min || x > max)
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]`);
  return x;
}

/**
 * Applies defaults and checks every option.
 *
 * @throws {TypeError} when `networkId` is not 32 bytes or a bootstrap address is invalid
 * @throws {RangeError} when a number is out of range
 * @example
 * ```ts
 * const cfg = resolveConfig({ networkId }) // every option with its default
 * ```
 */
export function resolveConfig(init: DhtInit): DhtConfig {
  if (!(init.networkId instanceof Uint8Array) || init.networkId.length !== 32)
    throw new TypeError('networkId must be 32 bytes');
  const d = DHT_DEFAULTS;
  const fraction = init.republishFraction ?? d.republishFraction;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError('republishFraction must be in (0, 1)');
  const div = init.ipDiversity;
  return {
    networkId: init.networkId.slice(),
    k: int('k', init.k, d.k, 1, 256),
    alpha: int('alpha', init.alpha, d.alpha, 1, 64),
    disjointPaths: int('disjointPaths', init.disjointPaths, d.disjointPaths, 1, 32),
    requestTimeoutMs: int('requestTimeoutMs', init.requestTimeoutMs, d.requestTimeoutMs, 1),
    maxRequestsPerLookup: int(
      'maxRequestsPerLookup',
      init.maxRequestsPerLookup,
      d.maxRequestsPerLookup,
      1,
    ),
    bootstrap: (init.bootstrap ?? []).map((a) => (typeof a === 'string' ? parseAddress(a) : a)),
    bootstrapRetryMinMs: int(
      'bootstrapRetryMinMs',
      init.bootstrapRetryMinMs,
      d.bootstrapRetryMinMs,
      1,
    ),
    bootstrapRetryMaxMs: int(
      'bootstrapRetryMaxMs',
      init.bootstrapRetryMaxMs,
      d.bootstrapRetryMaxMs,
      1,
    ),
    refreshIntervalMs: int('refreshIntervalMs', init.refreshIntervalMs, d.refreshIntervalMs, 1),
    refreshOnJoin: init.refreshOnJoin ?? d.refreshOnJoin,
    refreshWidth: int('refreshWidth', init.refreshWidth, d.refreshWidth, 1, 256),
    livenessCheckAfterMs: int(
      'livenessCheckAfterMs',
      init.livenessCheckAfterMs,
      d.livenessCheckAfterMs,
      0,
    ),
    livenessPingCount: int(
      'livenessPingCount',
      init.livenessPingCount,
      d.livenessPingCount,
      1,
      256,
    ),
    ipDiversity:
      div === false
        ? false
        : {
            maxPerSubnetPerBucket: int(
              'ipDiversity.maxPerSubnetPerBucket',
              div?.maxPerSubnetPerBucket,
              d.ipDiversity.maxPerSubnetPerBucket,
              1,
            ),
            maxPerSubnet: int(
              'ipDiversity.maxPerSubnet',
              div?.maxPerSubnet,
              d.ipDiversity.maxPerSubnet,
              1,
            ),
            limitLoopback: div?.limitLoopback ?? d.ipDiversity.limitLoopback,
          },
    clientMode: init.clientMode ?? d.clientMode,
    maxValueBytes: int('maxValueBytes', init.maxValueBytes, d.maxValueBytes, 0, 65_536),
    maxTtlSec: int('maxTtlSec', init.maxTtlSec, d.maxTtlSec, 1),
    defaultTtlSec: int('defaultTtlSec', init.defaultTtlSec, d.defaultTtlSec, 1),
    maxClockSkewMs: int('maxClockSkewMs', init.maxClockSkewMs, d.maxClockSkewMs, 0),
    maxRecordsPerPeer: int('maxRecordsPerPeer', init.maxRecordsPerPeer, d.maxRecordsPerPeer, 0),
    maxBytesPerPeer: int('maxBytesPerPeer', init.maxBytesPerPeer, d.maxBytesPerPeer, 0),
    maxRecords: int('maxRecords', init.maxRecords, d.maxRecords, 0),
    maxBytes: int('maxBytes', init.maxBytes, d.maxBytes, 0),
    republishFraction: fraction,
    replicationIntervalMs: int(
      'replicationIntervalMs',
      init.replicationIntervalMs,
      d.replicationIntervalMs,
      1,
    ),
    replicateToNewPeers: init.replicateToNewPeers ?? d.replicateToNewPeers,
    getQuorum: int('getQuorum', init.getQuorum, d.getQuorum, 1, 256),
    presenceRefreshMs: int('presenceRefreshMs', init.presenceRefreshMs, d.presenceRefreshMs, 1),
    presenceTtlSec: int('presenceTtlSec', init.presenceTtlSec, d.presenceTtlSec, 1),
    validators: init.validators ?? {},
    persistRoutingTable: init.persistRoutingTable ?? d.persistRoutingTable,
    persistMaxPeers: int('persistMaxPeers', init.persistMaxPeers, d.persistMaxPeers, 0),
    persistIntervalMs: int('persistIntervalMs', init.persistIntervalMs, d.persistIntervalMs, 0),
  };
}
