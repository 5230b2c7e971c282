// createDht: wires the routing table, record store, RPC client/server, lookups, replication,
// bootstrap/maintenance and presence around one DhtNetwork.
import {
  AbortError,
  combineSignals,
  cryptoRng,
  noopLogger,
  noopPeerReporter,
  NotStartedError,
  sleep,
  systemClock,
  type AbortOptions,
} from '@detr/interface';
import { resolveConfig, type DhtInit } from './config.js';
import { TOUCHED_SLOTS, type Ctx } from './context.js';
import { DhtNoPeersError, InvalidRecordError } from './errors.js';
import { aecommsPeerIds, createEd25519Verifier } from './identity.js';
import { hex, ID_BYTES, kadIdOfPeer } from './keys.js';
import { Maintenance } from './maintenance/bootstrap.js';
import { Replicator } from './maintenance/replication.js';
import { findClosest, findRecord, replicateRecord } from './operations.js';
import { Announcer, presenceOf } from './presence.js';
import {
  openRecord,
  signRecord,
  type RecordRules,
  type RecordValidator,
} from './records/record.js';
import { RecordStore } from './records/store.js';
import {
  mutableKey,
  mutableValidator,
  presenceKey,
  presenceValidator,
} from './records/validators.js';
import { RoutingTable, type Contact } from './routing/table.js';
import { ping } from './rpc/client.js';
import { createServer } from './rpc/server.js';
import type { Dht, DhtComponents, DhtValue, PutResult } from './types.js';

const FIND_PEER_QUORUM = 2;

/**
 * The stream protocol id of a network's DHT: `/detr/<network id hex>/dht/1`.
 *
 * @example
 * ```ts
 * dhtProtocol(networkId) // '/detr/5f1c…/dht/1'
 * ```
 */
export function dhtProtocol(networkId: Uint8Array): string {
  return `/detr/${hex(networkId)}/dht/1`;
}

/**
 * Creates a DHT node. Call `start()` (after starting the store) to join.
 *
 * @throws {TypeError} when `networkId` is not 32 bytes or a bootstrap address is invalid
 * @throws {RangeError} when an option is out of range
 * @example
 * ```ts
 * const dht = createDht({ signer, network, store, peerIds }, { networkId, bootstrap: [addr] })
 * await dht.start()
 * await dht.put(dht.key('profile'), value)
 * const v = await dht.get(mutableKey(otherPublicKey, 'profile'))
 * ```
 */
export function createDht(components: DhtComponents, init: DhtInit): Dht {
  const cfg = resolveConfig(init);
  const self = components.signer.peerId;
  const selfId = kadIdOfPeer(self);
  const clock = components.clock ?? systemClock;
  const verifier = components.verifier ?? createEd25519Verifier();
  const peerIds = components.peerIds ?? aecommsPeerIds;
  const validators = new Map<string, RecordValidator>([
    ['m', mutableValidator],
    ['presence', presenceValidator(peerIds)],
    ...Object.entries(cfg.validators),
  ]);
  const rules: RecordRules = {
    networkId: cfg.networkId,
    verifier,
    validators,
    maxValueBytes: cfg.maxValueBytes,
    maxTtlSec: cfg.maxTtlSec,
    maxClockSkewMs: cfg.maxClockSkewMs,
  };
  let onAdded: (c: Contact) => void = () => {};
  let onChanged: () => void = () => {};
  const ctx: Ctx = {
    cfg,
    self,
    selfId,
    clock,
    rng: components.rng ?? cryptoRng,
    log: (components.logger ?? noopLogger).child({ component: 'dht' }),
    reporter: components.reporter ?? noopPeerReporter,
    network: components.network,
    signer: components.signer,
    verifier,
    peerIds,
    rules,
    records: new RecordStore(components.store, cfg.networkId, clock, cfg),
    table: new RoutingTable({
      selfId,
      k: cfg.k,
      pingCount: cfg.livenessPingCount,
      livenessCheckAfterMs: cfg.livenessCheckAfterMs,
      diversity: cfg.ipDiversity,
      clock,
      ping: (c) => ping(ctx, c),
      onAdded: (c) => {
        onAdded(c);
        onChanged();
      },
      onRemoved: () => onChanged(),
    }),
    stats: {
      peers: 0,
      records: 0,
      recordBytes: 0,
      requestsSent: 0,
      requestsFailed: 0,
      timeouts: 0,
      requestsReceived: 0,
      invalidMessages: 0,
      recordsRefused: 0,
      recordsStored: 0,
      lookups: 0,
      penalties: 0,
    },
    touched: new Float64Array(TOUCHED_SLOTS),
    running: false,
    requestId: 0,
  };
  const replicator = new Replicator(ctx);
  const maintenance = new Maintenance(ctx, replicator, components.store, components.peerSource);
  const server = createServer(ctx);
  onAdded = (c) => replicator.peerAdded(c);
  onChanged = () => maintenance.markDirty();
  let shutdown = new AbortController();
  let starting: Promise<void> | undefined;

  const live = (options?: AbortOptions): AbortSignal => {
    if (!ctx.running) throw new NotStartedError('The DHT is not started');
    return combineSignals(options?.signal, shutdown.signal);
  };

  const publish = async (
    key: Uint8Array,
    value: Uint8Array,
    o: {
      seq?: number | undefined;
      ttlSec?: number | undefined;
      signal?: AbortSignal;
      track: boolean;
    },
  ): Promise<PutResult> => {
    const signal = live(o);
    const ttlSec = o.ttlSec ?? cfg.defaultTtlSec;
    if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > cfg.maxTtlSec)
      throw new RangeError(`ttlSec must be an integer in [1, ${cfg.maxTtlSec}]`);
    const now = clock.now();
    const prev = replicator.publishedSeq(key) ?? ctx.records.held(key)?.seq ?? -1;
    const seq = o.seq ?? Math.max(now, prev + 1);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new RangeError('seq must be a safe integer ≥ 0');
    const envelope = await signRecord(ctx.signer, {
      key,
      value,
      seq,
      ttlSec,
      expiresAtMs: now + ttlSec * 1000,
      networkId: cfg.networkId,
    });
    const view = openRecord(envelope, rules, now);
    const out = await replicateRecord(ctx, view, { signal });
    if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });
    if (out.stored === 0) {
      if (out.stale > 0) throw new InvalidRecordError('stale-seq', 'Peers hold a higher seq');
      throw new DhtNoPeersError('No node stored the record');
    }
    if (o.track) replicator.track(view);
    return { key, seq, expiresAtMs: view.expiresAtMs, replicas: out.stored, lookup: out.stats };
  };

  const announcer = new Announcer(ctx, (key, value, o) =>
    publish(key, value, { ...o, track: false }),
  );

  const dht: Dht = {
    peerId: self,
    networkId: cfg.networkId,
    protocol: dhtProtocol(cfg.networkId),

    async start() {
      if (ctx.running) return;
      starting ??= (async () => {
        await ctx.records.load(rules);
        shutdown = new AbortController();
        ctx.running = true;
        ctx.table.setActive(true);
        components.network.setHandler((inbound) => server.handle(inbound));
        replicator.resume();
        maintenance.start();
      })().finally(() => {
        starting = undefined;
      });
      await starting;
    },

    async stop() {
      if (starting !== undefined) await starting.catch(() => undefined);
      if (!ctx.running) return;
      if (announcer.active) {
        const done = new AbortController();
        const limit = sleep(clock, cfg.requestTimeoutMs * 2, { signal: done.signal }).catch(
          () => undefined,
        );
        await Promise.race([announcer.withdraw(done.signal).catch(() => undefined), limit]);
        done.abort();
      }
      ctx.running = false;
      ctx.table.setActive(false);
      shutdown.abort();
      components.network.setHandler(undefined);
      announcer.stop();
      replicator.stop();
      await maintenance.stop();
    },

    async bootstrap(options) {
      return maintenance.bootstrap(live(options));
    },

    async put(key, value, options = {}) {
      return publish(key, value, { ...options, track: options.republish !== false });
    },

    async get(key, options = {}) {
      const signal = live(options);
      const r = await findRecord(ctx, key, { quorum: options.quorum ?? cfg.getQuorum, signal });
      options.onLookup?.(r.stats);
      const b = r.best;
      if (b === undefined) return undefined;
      const v: DhtValue = {
        key: b.key,
        value: b.value,
        seq: b.seq,
        publisher: b.publisher,
        expiresAtMs: b.expiresAtMs,
        holders: r.holders,
        lookup: r.stats,
      };
      return v;
    },

    key(name = '') {
      return mutableKey(self.publicKey, name);
    },

    async announce(options = {}) {
      live(options);
      await announcer.announce(options);
    },

    async findPeer(peer, options = {}) {
      const signal = live(options);
      const r = await findRecord(ctx, presenceKey(peer.bytes), {
        quorum: options.quorum ?? FIND_PEER_QUORUM,
        signal,
      });
      options.onLookup?.(r.stats);
      const b = r.best;
      if (b === undefined) return undefined;
      return presenceOf(ctx, peer, {
        key: b.key,
        value: b.value,
        seq: b.seq,
        publisher: b.publisher,
        expiresAtMs: b.expiresAtMs,
        holders: r.holders,
        lookup: r.stats,
      });
    },

    async findClosestPeers(id, options = {}) {
      if (!(id instanceof Uint8Array) || id.length !== ID_BYTES)
        throw new RangeError('id must be 32 bytes');
      const signal = live(options);
      const r = await findClosest(ctx, id, { signal, until: options.until });
      options.onLookup?.(r.stats);
      return {
        peers: r.closest.map((h) => ({ peer: h.peer, addresses: h.addresses })),
        found: r.stopped,
        lookup: r.stats,
      };
    },

    peers() {
      return ctx.table.contacts().map((c) => ({ peer: c.peer, addresses: c.addresses }));
    },

    stats() {
      return {
        ...ctx.stats,
        peers: ctx.table.size,
        records: ctx.records.size,
        recordBytes: ctx.records.bytes,
      };
    },
  };
  return dht;
}
