// createDht: the public object around the parts `wire` builds: lifecycle (start, stop with the
// presence withdrawal), the record API (put, get, delete, held records), presence, lookups and
// events.
import {
  combineSignals,
  NotStartedError,
  sleep,
  type AbortOptions,
  shutdownController,
} from '@detr/interface';
import { resolveConfig, type DhtInit } from './config.js';
import { hex, ID_BYTES } from './keys.js';
import { findClosest, findRecord } from './operations.js';
import { Announcer, presenceOf } from './presence.js';
import { createPublisher } from './publisher.js';
import { mutableKey, presenceKey } from './records/validators.js';
import type { Dht, DhtComponents, DhtValue } from './types.js';
import { wire } from './wiring.js';

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
  const { ctx, replicator, maintenance, server } = wire(components, cfg);
  const { clock } = ctx;
  const self = ctx.self;
  let shutdown = shutdownController();
  let starting: Promise<void> | undefined;

  const live = (options?: AbortOptions): AbortSignal => {
    if (!ctx.running) throw new NotStartedError('The DHT is not started');
    return combineSignals(options?.signal, shutdown.signal);
  };

  const publisher = createPublisher(ctx, replicator);
  const announcer = new Announcer(ctx, (key, value, o) =>
    publisher.publish(key, value, { ...o, signal: live(o), track: false }),
  );

  const dht: Dht = {
    peerId: self,
    networkId: cfg.networkId,
    protocol: dhtProtocol(cfg.networkId),

    async start() {
      if (ctx.running) return;
      starting ??= (async () => {
        await ctx.records.load(ctx.rules);
        shutdown = shutdownController();
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
      const signal = live(options);
      return publisher.publish(key, value, {
        seq: options.seq,
        ttlSec: options.ttlSec,
        signal,
        track: options.republish !== false,
      });
    },

    async delete(key, options = {}) {
      const signal = live(options);
      return publisher.remove(key, { seq: options.seq, ttlSec: options.ttlSec, signal });
    },

    async get(key, options = {}) {
      const signal = live(options);
      const r = await findRecord(ctx, key, { quorum: options.quorum ?? cfg.getQuorum, signal });
      options.onLookup?.(r.stats);
      const b = r.best;
      if (b === undefined) return undefined;
      if (b.value.length === 0 && options.hideDeleted === true) return undefined;
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

    held(options = {}) {
      return ctx.records.list(options.prefix, options.limit);
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

    on(event, listener) {
      return ctx.events.on(event, listener);
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
