// The node's DHT: @detr/dht over detr streams (createStreamNetwork on the transport's connection
// manager), its records and routing table in @detr/stored, dpeers as its reporter, and the
// node-defined namespaces: `kv` (dht put/get of the API and CLI), `mbox` (offline mailboxes) and
// nat's `signal` (WebRTC signaling when two peers share no connection).
import {
  noopLogger,
  type AbortOptions,
  type Address,
  type Clock,
  type Logger,
  type PeerId,
  type PeerLocation,
  type PeerReporter,
} from '@detr/interface';
import type { Identity } from '@detr/aecomms';
import type { Store } from '@detr/stored';
import {
  createDht,
  createStreamNetwork,
  namespaceOf,
  type Dht,
  type DhtBanList,
  type DhtInit,
  type DhtPeerSource,
  type StreamDialer,
  type StreamNetwork,
} from '@detr/dht';
import { SIGNAL_NAMESPACE, signalRecordValidator } from '@detr/nat';
import { MAILBOX_NAMESPACE, mailboxValidator } from '../offline/mailbox.js';

/** The namespace of `node.dht.put/get` keys that carry none: `/kv/<key>`, any member may write. */
export const KV_NAMESPACE = 'kv';

/** The DHT as the node uses it. */
export interface NodeDht {
  /** The @detr/dht instance (nat sees it as SharedRecords and PeerRouting). */
  readonly dht: Dht;
  readonly network: StreamNetwork;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stores `value` under `key` (namespaced as `/kv/<key>` unless it names a namespace). */
  put(
    key: Uint8Array,
    value: Uint8Array,
    options?: { ttlSec?: number } & AbortOptions,
  ): Promise<void>;
  get(key: Uint8Array, options?: AbortOptions): Promise<Uint8Array | undefined>;
  /** Publishes our presence: `addresses` (listen, WebRTC) and circuit `relayAddresses`. */
  announce(
    addresses: readonly Address[],
    relayAddresses: readonly Address[],
    options?: AbortOptions,
  ): Promise<void>;
  findPeer(peer: PeerId, options?: AbortOptions): Promise<PeerLocation | undefined>;
  /** Lookups made (node lookups, gets, findPeer, puts, announces, refreshes). */
  readonly lookups: number;
}

/** The user key as stored: `/kv/<key>` unless it already names a registered namespace. */
export function kvKey(key: Uint8Array): Uint8Array {
  const ns = namespaceOf(key);
  if (ns !== undefined && ns !== 'presence') return key;
  return new Uint8Array(Buffer.concat([Buffer.from(`/${KV_NAMESPACE}/`), key]));
}

/**
 * Builds the node's DHT.
 *
 * @throws {RangeError} for options out of range (from @detr/dht)
 */
export function createNodeDht(
  c: {
    identity: Identity;
    dialer: StreamDialer;
    store: Store;
    reporter: PeerReporter;
    /** Banned peers are not asked, not added to the routing table and not answered (dpeers). */
    bans?: DhtBanList;
    clock: Clock;
    logger?: Logger;
    /** Addresses advertised to other DHT nodes (our listen addresses). */
    advertise: () => readonly Address[];
    /** Peers to join the DHT through (the node's outbound connections). */
    peerSource: DhtPeerSource;
  },
  init: Omit<DhtInit, 'validators'> & { offlineMaxBytes: number; offlineMaxTtlSec: number },
): NodeDht {
  const { offlineMaxBytes, offlineMaxTtlSec, ...dhtInit } = init;
  const kvMaxBytes = dhtInit.maxValueBytes ?? 16_384;
  const network = createStreamNetwork(
    { dialer: c.dialer, reporter: c.reporter, clock: c.clock, logger: c.logger ?? noopLogger },
    { networkId: dhtInit.networkId, advertise: c.advertise },
  );
  const dht = createDht(
    {
      signer: c.identity,
      network,
      store: c.store,
      reporter: c.reporter,
      ...(c.bans !== undefined ? { bans: c.bans } : {}),
      peerSource: c.peerSource,
      clock: c.clock,
      logger: c.logger ?? noopLogger,
    },
    {
      ...dhtInit,
      maxTtlSec: Math.max(dhtInit.maxTtlSec ?? 86_400, offlineMaxTtlSec),
      // The DHT-wide limit admits mailbox records; each namespace has its own below it.
      maxValueBytes: Math.max(kvMaxBytes, offlineMaxBytes),
      validators: {
        [KV_NAMESPACE]: { validate: () => true, maxValueBytes: kvMaxBytes },
        [MAILBOX_NAMESPACE]: mailboxValidator({
          maxBytes: offlineMaxBytes,
          maxTtlSec: offlineMaxTtlSec,
        }),
        [SIGNAL_NAMESPACE]: signalRecordValidator,
      },
    },
  );
  return {
    dht,
    network,
    get lookups() {
      return dht.stats().lookups;
    },
    start: () => dht.start(),
    async stop() {
      await dht.stop();
      network.stop();
    },
    async put(key, value, options = {}) {
      await dht.put(kvKey(key), value, options);
    },
    async get(key, options = {}) {
      return (await dht.get(kvKey(key), { ...options, hideDeleted: true }))?.value;
    },
    async announce(addresses, relayAddresses, options = {}) {
      await dht.announce({ addresses, relayAddresses, ...options });
    },
    async findPeer(peer, options = {}) {
      return dht.findPeer(peer, options);
    },
  };
}
