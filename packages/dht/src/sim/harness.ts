// The simulation harness: N real DHT nodes (createDht, memory stores from @detr/stored) over the
// simulated network, and the workloads the report measures: node lookups, record puts and gets,
// kills without warning, churn. Used by `npm run dht:sim` and by the jest suite at small sizes.
import {
  createSeededRng,
  parseAddress,
  type PeerId,
  type PeerReporter,
  type Rng,
} from '@detr/interface';
import { createMemoryStore, type Store } from '@detr/stored';
import { createDht } from '../dht.js';
import type { DhtInit } from '../config.js';
import { createIdentity, type Identity } from '@detr/aecomms';
import { createEd25519Verifier } from '../identity.js';
import { kadIdOfPeer } from '../keys.js';
import type { DhtPeerSource } from '../maintenance/bootstrap.js';
import type { DhtNetwork } from '../rpc/network.js';
import type { Dht, DhtBanList } from '../types.js';
import { createSimClock, type SimClock } from './clock.js';
import { createSimNetwork, type SimNetwork } from './network.js';

export interface SimNode {
  readonly index: number;
  readonly identity: Identity;
  readonly peer: PeerId;
  readonly address: string;
  readonly dht: Dht;
  readonly store: Store;
  alive: boolean;
}

/** Per-node choices of {@link Simulation.addNode}. */
export interface AddNodeOptions {
  address?: string;
  identity?: Identity;
  store?: Store;
  reporter?: PeerReporter;
  peerSource?: DhtPeerSource;
  bans?: DhtBanList;
  networkId?: Uint8Array;
  /** An existing endpoint (e.g. one kept across a restart). */
  network?: DhtNetwork;
  dht?: Partial<DhtInit>;
}

export interface SimulationInit {
  seed: number;
  lossRate?: number;
  encode?: boolean;
  /** DHT options of every node (networkId is set by the harness). */
  dht?: Partial<DhtInit>;
}

/** Success, hops and messages of a batch of lookups. */
export interface LookupFigures {
  count: number;
  ok: number;
  hops: number[];
  messages: number[];
}

export const SIM_NETWORK_ID = new Uint8Array(32).fill(0x5d);
const NETWORK_ID = SIM_NETWORK_ID;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export class Simulation {
  readonly clock: SimClock;
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly #init: SimulationInit;
  readonly #verifier = createEd25519Verifier({ cacheSize: 65_536 });

  constructor(init: SimulationInit) {
    this.#init = init;
    this.clock = createSimClock();
    this.rng = createSeededRng(init.seed);
    this.net = createSimNetwork({
      clock: this.clock,
      rng: createSeededRng(init.seed + 1),
      lossRate: init.lossRate ?? 0,
      encode: init.encode ?? false,
    });
  }

  get networkId(): Uint8Array {
    return NETWORK_ID;
  }

  live(): SimNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  randomLive(except?: SimNode): SimNode {
    const live = this.live();
    for (let i = 0; i < 100; i++) {
      const n = live[this.rng.int(live.length)] as SimNode;
      if (n !== except) return n;
    }
    throw new Error('no live node');
  }

  /** Creates and starts one node; it bootstraps from `bootstrap` (addresses) in the background. */
  async addNode(bootstrap: readonly string[], options: AddNodeOptions = {}): Promise<SimNode> {
    const index = this.nodes.length;
    const identity = options.identity ?? createIdentity(this.rng.bytes(32));
    const peer = identity.peerId;
    const addr =
      options.address ??
      `/ip4/10.${(index >> 8) & 255}.${index & 255}.${1 + (index >> 16)}/tcp/4001`;
    let store = options.store;
    if (store === undefined) {
      store = createMemoryStore({ clock: this.clock }, { cacheMaxEntries: 0, sweepIntervalMs: 0 });
      await store.start();
    }
    const dht = createDht(
      {
        signer: identity,
        network: options.network ?? this.net.endpoint(peer, parseAddress(addr)),
        store,
        verifier: this.#verifier,
        clock: this.clock,
        rng: createSeededRng(this.#init.seed * 1_000_003 + index),
        ...(options.reporter === undefined ? {} : { reporter: options.reporter }),
        ...(options.peerSource === undefined ? {} : { peerSource: options.peerSource }),
        ...(options.bans === undefined ? {} : { bans: options.bans }),
      },
      { ...this.#init.dht, ...options.dht, networkId: options.networkId ?? NETWORK_ID, bootstrap },
    );
    const node: SimNode = { index, identity, peer, address: addr, dht, store, alive: true };
    this.nodes.push(node);
    await dht.start();
    return node;
  }

  /** Grows the network to `n` nodes, `concurrency` joining at once, each from a random live node. */
  async grow(n: number, concurrency = 50, onProgress?: (joined: number) => void): Promise<void> {
    if (this.nodes.length === 0) await this.addNode([]);
    while (this.nodes.length < n) {
      const batch: Promise<unknown>[] = [];
      const live = this.live();
      for (let i = 0; i < concurrency && this.nodes.length < n; i++) {
        const from = live[this.rng.int(live.length)] as SimNode;
        const node = await this.addNode([from.address]);
        batch.push(node.dht.bootstrap());
      }
      await this.clock.runUntil(Promise.all(batch));
      onProgress?.(this.nodes.length);
    }
  }

  /** Kills `fraction` of the live nodes at once, without warning. */
  async kill(fraction: number): Promise<SimNode[]> {
    const live = this.live();
    const count = Math.round(live.length * fraction);
    const victims: SimNode[] = [];
    const pool = [...live];
    for (let i = 0; i < count; i++) {
      const j = this.rng.int(pool.length);
      victims.push(pool[j] as SimNode);
      pool[j] = pool[pool.length - 1] as SimNode;
      pool.pop();
    }
    for (const v of victims) {
      v.alive = false;
      this.net.kill(v.peer);
    }
    // Their processes are gone: stop their timers too (nothing they send arrives any more).
    await this.clock.runUntil(Promise.all(victims.map((v) => v.dht.stop())));
    return victims;
  }

  /** `count` lookups of random live nodes from random live nodes, `concurrency` at a time. */
  async nodeLookups(count: number, concurrency = 100): Promise<LookupFigures> {
    const f: LookupFigures = { count, ok: 0, hops: [], messages: [] };
    for (let done = 0; done < count;) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < concurrency && done < count; i++, done++) {
        const from = this.randomLive();
        const target = this.randomLive(from);
        batch.push(
          from.dht.findClosestPeers(kadIdOfPeer(target.peer), { until: target.peer }).then((r) => {
            f.messages.push(r.lookup.requests);
            if (r.found) {
              f.ok++;
              f.hops.push(r.lookup.hops);
            }
          }),
        );
      }
      await this.clock.runUntil(Promise.all(batch));
    }
    return f;
  }

  /** Publishes `count` records of `valueBytes` from random live nodes. */
  async putRecords(
    count: number,
    valueBytes = 64,
    concurrency = 50,
  ): Promise<Array<{ key: Uint8Array; value: Uint8Array; publisher: SimNode; replicas: number }>> {
    const out: Array<{ key: Uint8Array; value: Uint8Array; publisher: SimNode; replicas: number }> =
      [];
    for (let done = 0; done < count;) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < concurrency && done < count; i++, done++) {
        const publisher = this.randomLive();
        const key = publisher.dht.key(`record-${done}`);
        const value = this.rng.bytes(valueBytes);
        batch.push(
          publisher.dht.put(key, value).then(
            (r) => {
              out.push({ key, value, publisher, replicas: r.replicas });
            },
            () => {
              out.push({ key, value, publisher, replicas: 0 });
            },
          ),
        );
      }
      await this.clock.runUntil(Promise.all(batch));
    }
    return out;
  }

  /** Gets every record from a random live node other than its publisher. */
  async getRecords(
    records: ReadonlyArray<{ key: Uint8Array; value: Uint8Array; publisher: SimNode }>,
    concurrency = 100,
  ): Promise<LookupFigures> {
    const f: LookupFigures = { count: records.length, ok: 0, hops: [], messages: [] };
    for (let done = 0; done < records.length;) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < concurrency && done < records.length; i++, done++) {
        const r = records[done] as { key: Uint8Array; value: Uint8Array; publisher: SimNode };
        const from = this.randomLive(r.publisher);
        batch.push(
          from.dht
            .get(r.key, {
              onLookup: (s) => f.messages.push(s.requests),
            })
            .then((v) => {
              if (v !== undefined && Buffer.from(v.value).equals(Buffer.from(r.value))) {
                f.ok++;
                f.hops.push(v.lookup.hops);
              }
            }),
        );
      }
      await this.clock.runUntil(Promise.all(batch));
    }
    return f;
  }

  /** Stops every node and store. */
  async stopAll(): Promise<void> {
    await this.clock.runUntil(
      Promise.all(this.nodes.map((n) => n.dht.stop().then(() => n.store.stop()))),
    );
  }
}
