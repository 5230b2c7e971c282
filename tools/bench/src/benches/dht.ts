// @detr/dht beside @libp2p/kad-dht and hyperdht: an n-node network on 127.0.0.1 in one process
// for each, then the same operations on each.
//
// - boot: start n nodes and have every one join (detr: createTestnet, each node's bootstrap:
//   ping + lookup of its own id + bucket refresh; kad-dht: start, dial the first node, a full
//   lookup of its own id; hyperdht: its testnet, each node `fullyBootstrapped()`).
// - put: a new value from a random node (detr: `put` of a mutable record to the k closest;
//   kad-dht: `put` of a record under a `/bench/` key; hyperdht: `mutablePut`).
// - get: that value from another random node (detr: `get`, quorum 3; kad-dht: `get` until its
//   query ends, as libp2p does; hyperdht: `mutableGet`).
// - findPeer: where another random node is (detr: its presence record, announced beforehand;
//   kad-dht: `findPeer` with `useCache: false` (a network query, not its peer store) to the first
//   FINAL_PEER; hyperdht: `findPeer` of a listening server to its first answer).
import '../lib/shims.js';
import { createRequire } from 'node:module';
import type { Benchmark, BenchContext } from '../lib/harness.js';
import { percentile } from '../lib/stats.js';

/** Figures of one DHT, in milliseconds. */
export interface DhtFigures {
  bootMs: number;
  putP50: number;
  getP50: number;
  findPeerP50: number;
  /** Gets and findPeers that found nothing (timed all the same). */
  misses: number;
}

interface Plan {
  nodes: number;
  ops: number;
}

const now = (): number => performance.now();

/** `a[i]`, which must exist. */
function at<T>(a: readonly T[], i: number): T {
  const v = a[i];
  if (v === undefined) throw new RangeError(`no element ${i}`);
  return v;
}

async function timedOps(ops: number, op: (i: number) => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t = now();
    await op(i);
    times.push(now() - t);
  }
  return percentile(times, 50);
}

/** A deterministic pick of two different indexes. */
function pair(i: number, n: number): [number, number] {
  const a = (i * 7 + 1) % n;
  const b = (a + 1 + ((i * 13) % (n - 1))) % n;
  return [a, b];
}

// ---- detr ----------------------------------------------------------------------------------

export async function measureDetr(plan: Plan): Promise<DhtFigures> {
  const { createTestnet } = await import('@detr/dht');
  let misses = 0;
  const t0 = now();
  const net = await createTestnet(plan.nodes);
  const bootMs = now() - t0;
  try {
    const keys: Array<{ key: Uint8Array; from: number }> = [];
    const putP50 = await timedOps(plan.ops, async (i) => {
      const [a] = pair(i, plan.nodes);
      const node = at(net.nodes, a);
      const key = node.dht.key(`bench-${i}`);
      await node.dht.put(key, new Uint8Array(100).fill(i & 0xff));
      keys.push({ key, from: a });
    });
    const getP50 = await timedOps(plan.ops, async (i) => {
      const [, b] = pair(i, plan.nodes);
      const { key } = at(keys, i);
      const v = await at(net.nodes, b).dht.get(key);
      if (v === undefined) misses++;
    });
    await Promise.all(net.nodes.map((n) => n.dht.announce()));
    const findPeerP50 = await timedOps(plan.ops, async (i) => {
      const [a, b] = pair(i, plan.nodes);
      const found = await at(net.nodes, b).dht.findPeer(at(net.nodes, a).peer);
      if (found === undefined) misses++;
    });
    return { bootMs, putP50, getP50, findPeerP50, misses };
  } finally {
    await net.destroy();
  }
}

// ---- @libp2p/kad-dht -----------------------------------------------------------------------

let strayCounter: { count: number } | undefined;

function ignoreLibp2pStrays(): { count: number } {
  if (strayCounter !== undefined) return strayCounter;
  const counter = { count: 0 };
  strayCounter = counter;
  process.on('unhandledRejection', () => void counter.count++);
  process.on('uncaughtException', (err: Error) => {
    if (/Timeout|Abort|EncryptionFailed|ECONNRESET|EPIPE/.test(`${err.name} ${err.message}`)) {
      counter.count++;
      return;
    }
    process.stderr.write(`uncaught ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
  return counter;
}

export async function measureKadDht(plan: Plan): Promise<DhtFigures> {
  const { createLibp2p } = await import('libp2p');
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  const { identify } = await import('@libp2p/identify');
  const { ping } = await import('@libp2p/ping');
  const { kadDHT, removePrivateAddressesMapper, passthroughMapper } =
    await import('@libp2p/kad-dht');
  void removePrivateAddressesMapper;
  const make = () =>
    createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // As in the transport benchmark: no inbound rate limit on loopback.
      connectionManager: {
        maxConnections: 100_000,
        inboundConnectionThreshold: 1_000_000,
        maxIncomingPendingConnections: 100_000,
      },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          clientMode: false,
          peerInfoMapper: passthroughMapper,
          validators: { bench: async () => {} },
          selectors: { bench: () => 0 },
        }),
      },
    });
  type Node = Awaited<ReturnType<typeof make>>;
  const nodes: Node[] = [];
  // js-libp2p leaves some dial failures unhandled (e.g. ECONNRESET while a peer stops), and under
  // load some of its timeouts (AbortSignal.timeout, the upgrader's) surface as uncaught
  // exceptions from timers, also after its nodes stopped: they are counted, not fatal, for the
  // rest of this (one-benchmark) process. Anything else still ends the run.
  const strays = ignoreLibp2pStrays();
  let dialRetries = 0;
  let misses = 0;
  const t0 = now();
  try {
    const first = await make();
    nodes.push(first);
    const firstAddr = at(first.getMultiaddrs(), 0);
    const join = async (): Promise<void> => {
      const node = await make();
      nodes.push(node);
      // Under load a Noise handshake can time out (js-libp2p's upgrade timeout): retry the dial.
      for (let attempt = 1; ; attempt++) {
        try {
          await node.dial(firstAddr);
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          dialRetries++;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
      for await (const e of node.services.dht.getClosestPeers(node.peerId.toMultihash().bytes))
        void e;
    };
    while (nodes.length < plan.nodes) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < 10 && nodes.length + batch.length < plan.nodes; i++) batch.push(join());
      await Promise.all(batch);
    }
    for await (const e of first.services.dht.getClosestPeers(first.peerId.toMultihash().bytes))
      void e;
    const bootMs = now() - t0;
    if (dialRetries > 0) process.stderr.write(`kad-dht: ${dialRetries} bootstrap dial retries\n`);
    const enc = new TextEncoder();
    const putP50 = await timedOps(plan.ops, async (i) => {
      const [a] = pair(i, plan.nodes);
      const key = enc.encode(`/bench/${i}`);
      for await (const e of at(nodes, a).services.dht.put(key, new Uint8Array(100).fill(i & 0xff)))
        void e;
    });
    const getP50 = await timedOps(plan.ops, async (i) => {
      const [, b] = pair(i, plan.nodes);
      let found = false;
      for await (const e of at(nodes, b).services.dht.get(enc.encode(`/bench/${i}`))) {
        if (e.name === 'VALUE') found = true;
      }
      if (!found) misses++;
    });
    const findPeerP50 = await timedOps(plan.ops, async (i) => {
      const [a, b] = pair(i, plan.nodes);
      let found = false;
      // useCache: false, or it answers from its peer store without asking the network.
      for await (const e of at(nodes, b).services.dht.findPeer(at(nodes, a).peerId, {
        useCache: false,
      })) {
        if (e.name === 'FINAL_PEER') {
          found = true;
          break;
        }
      }
      if (!found) misses++;
    });
    return { bootMs, putP50, getP50, findPeerP50, misses };
  } finally {
    await Promise.all(nodes.map(async (n) => n.stop()));
    await new Promise((r) => setTimeout(r, 200));
    if (strays.count > 0)
      process.stderr.write(`kad-dht: ${strays.count} stray errors of js-libp2p ignored so far\n`);
  }
}

// ---- hyperdht ------------------------------------------------------------------------------

interface HyperNode {
  mutablePut(keyPair: unknown, value: Buffer): Promise<unknown>;
  mutableGet(publicKey: Buffer, opts?: unknown): Promise<{ value: Buffer } | null>;
  findPeer(publicKey: Buffer): AsyncIterable<unknown>;
  createServer(): { listen(keyPair: unknown): Promise<void>; close(): Promise<void> };
}
interface HyperTestnet {
  nodes: HyperNode[];
  destroy(): Promise<void>;
}
interface HyperDhtStatic {
  keyPair(seed?: Buffer): { publicKey: Buffer; secretKey: Buffer };
}

export async function measureHyperdht(plan: Plan): Promise<DhtFigures> {
  const require = createRequire(import.meta.url);
  const createTestnet = require('hyperdht/testnet') as (
    n: number,
    o: { host: string },
  ) => Promise<HyperTestnet>;
  const DHT = require('hyperdht') as HyperDhtStatic;
  let misses = 0;
  const t0 = now();
  const net = await createTestnet(plan.nodes, { host: '127.0.0.1' });
  const bootMs = now() - t0;
  try {
    const pairs: Array<{ publicKey: Buffer; secretKey: Buffer }> = [];
    const putP50 = await timedOps(plan.ops, async (i) => {
      const [a] = pair(i, plan.nodes);
      const kp = DHT.keyPair();
      pairs.push(kp);
      await at(net.nodes, a).mutablePut(kp, Buffer.alloc(100, i & 0xff));
    });
    const getP50 = await timedOps(plan.ops, async (i) => {
      const [, b] = pair(i, plan.nodes);
      const r = await at(net.nodes, b).mutableGet(at(pairs, i).publicKey, { latest: false });
      if (r === null) misses++;
    });
    const servers = await Promise.all(
      net.nodes.map(async (n) => {
        const kp = DHT.keyPair();
        const server = n.createServer();
        await server.listen(kp);
        return { server, kp };
      }),
    );
    const findPeerP50 = await timedOps(plan.ops, async (i) => {
      const [a, b] = pair(i, plan.nodes);
      let found = false;
      for await (const e of at(net.nodes, b).findPeer(at(servers, a).kp.publicKey)) {
        void e;
        found = true;
        break;
      }
      if (!found) misses++;
    });
    for (const s of servers) await s.server.close();
    return { bootMs, putP50, getP50, findPeerP50, misses };
  } finally {
    await net.destroy();
  }
}

function report(ctx: BenchContext, name: string, f: DhtFigures): void {
  ctx.figure(`dht.${name}.boot`, f.bootMs, 'ms');
  ctx.figure(`dht.${name}.put.p50`, f.putP50, 'ms');
  ctx.figure(`dht.${name}.get.p50`, f.getP50, 'ms');
  ctx.figure(`dht.${name}.findPeer.p50`, f.findPeerP50, 'ms');
  ctx.figure(`dht.${name}.misses`, f.misses, 'lookups');
}

const bench: Benchmark = {
  name: 'dht',
  description:
    'DHT on loopback, one process: boot n nodes, put/get/findPeer p50 (detr, @libp2p/kad-dht, hyperdht)',
  async run(ctx) {
    const plan: Plan = ctx.quick ? { nodes: 20, ops: 10 } : { nodes: 50, ops: 50 };
    ctx.note(
      `${plan.nodes} nodes each, ${plan.ops} operations of each kind; shared machine: indicative`,
    );
    const detr = await measureDetr(plan);
    report(ctx, 'detr', detr);
    const kad = await measureKadDht(plan);
    report(ctx, 'kad-dht', kad);
    const hyper = await measureHyperdht(plan);
    report(ctx, 'hyperdht', hyper);
    ctx.ratio('dht.boot.detr/kad-dht', detr.bootMs, kad.bootMs);
    ctx.ratio('dht.put.p50.detr/kad-dht', detr.putP50, kad.putP50);
    ctx.ratio('dht.get.p50.detr/kad-dht', detr.getP50, kad.getP50);
    ctx.ratio('dht.findPeer.p50.detr/kad-dht', detr.findPeerP50, kad.findPeerP50);
    ctx.ratio('dht.boot.detr/hyperdht', detr.bootMs, hyper.bootMs);
    ctx.ratio('dht.put.p50.detr/hyperdht', detr.putP50, hyper.putP50);
    ctx.ratio('dht.get.p50.detr/hyperdht', detr.getP50, hyper.getP50);
    ctx.ratio('dht.findPeer.p50.detr/hyperdht', detr.findPeerP50, hyper.findPeerP50);
  },
};

export default bench;
