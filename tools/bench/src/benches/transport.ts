// @detr/transport over TCP beside raw TCP, js-libp2p (TCP + noise + yamux) and
// @hyperswarm/secret-stream over TCP, in one run on loopback (client and server in one process):
// - bulk MB/s: one stream, 64 KiB writes with backpressure;
// - 100-byte round trip p50/p99 on an open stream (echo);
// - connect + handshake + first stream p50: a new connection, a stream, one 100-byte echo
//   (every implementation in small interleaved batches, after the rounds);
// - RSS per idle connection, both ends: 1,000 connections (100 with --quick), each
//   implementation measured in a fresh child process so earlier phases do not skew it.
import '../lib/shims.js';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseAddress } from '@detr/interface';
import { createTcpTransport } from '@detr/transport';
import type { Benchmark, BenchContext } from '../lib/harness.js';
import { bulkThroughput, rotatedRounds } from '../lib/patterns.js';
import { closeServer, connectLoopback, listenLoopback } from '../lib/tcp.js';
import {
  byteCounter,
  byteWaiter,
  detrFirstRoundTrip,
  detrNetwork,
  detrRssPerConnection,
  detrSpeed,
  inChild,
  rssPerConnection,
  timed,
  type DetrTransportFactory,
} from '../lib/transport-common.js';
import { measureRawTcp } from './tcp.js';

// tsx (which runs the benchmarks from sources) turns on source-mapped stack traces; production
// builds of detr do not run with them. Node's stream destroy() formats the stack of every error
// it is given, and with source maps each costs tens of µs of map lookups: an abrupt close (a
// stream reset, a connection aborted under an open stream) would then be measured at dev-mode
// cost. The anchors are plain JavaScript and unaffected.
process.setSourceMapsEnabled(false);

/** Everything but memory, measured in this process. */
export interface SpeedFigures {
  bulk: number;
  rttP50: number;
  rttP99: number;
  connectP50: number;
}

interface Sizes {
  bulkBytes: number;
  rtts: number;
  connects: number;
  idle: number;
  /** Rounds of every measurement; the best of each is printed. */
  rounds: number;
}

/** The best of several runs: highest throughput, lowest latencies. */
export function best(runs: readonly SpeedFigures[]): SpeedFigures {
  return {
    bulk: Math.max(...runs.map((f) => f.bulk)),
    rttP50: Math.min(...runs.map((f) => f.rttP50)),
    rttP99: Math.min(...runs.map((f) => f.rttP99)),
    connectP50: Math.min(...runs.map((f) => f.connectP50)),
  };
}

const MSG = Buffer.alloc(100, 0x61);

/** Runs `measure` once on an eighth of the bytes (warm-up, discarded), then on all of them. */
async function warmBulk(z: Sizes, measure: (total: number) => Promise<number>): Promise<number> {
  await measure(Math.max(1 << 20, Math.floor(z.bulkBytes / 8 / 65536) * 65536));
  return measure(z.bulkBytes);
}

// ---- detr ----------------------------------------------------------------------------------

const TCP: DetrTransportFactory = (c) => createTcpTransport(c, {});

async function detrTcp(z: Sizes): Promise<SpeedFigures> {
  const f = await detrSpeed(TCP, '/ip4/127.0.0.1/tcp/0', z, { freshStream: false });
  return { bulk: f.bulk, rttP50: f.rttP50, rttP99: f.rttP99, connectP50: Number.NaN };
}

/** RSS per idle detr TCP connection (both ends), in KiB; run in a child process. */
export function rssDetr(n: number): Promise<number> {
  return detrRssPerConnection(TCP, '/ip4/127.0.0.1/tcp/0', n);
}

// ---- @hyperswarm/secret-stream over TCP ----------------------------------------------------

// CommonJS without type declarations: typed here as far as used.
type Secret = Duplex;
interface SecretStreamClass {
  new (isInitiator: boolean, rawStream: Socket, options: { keyPair: unknown }): Secret;
  keyPair(): unknown;
}
const SecretStream = createRequire(import.meta.url)(
  '@hyperswarm/secret-stream',
) as SecretStreamClass;

async function secretServer(
  onStream: (s: Secret) => void,
): Promise<{ open(): Promise<Secret>; close(): Promise<void> }> {
  const serverKey = SecretStream.keyPair();
  const clientKey = SecretStream.keyPair();
  const held: Secret[] = [];
  const { server, port } = await listenLoopback((socket: Socket) => {
    const s: Secret = new SecretStream(false, socket, { keyPair: serverKey });
    s.on('error', () => {});
    held.push(s);
    onStream(s);
  });
  return {
    async open() {
      const socket = await connectLoopback(port);
      const s: Secret = new SecretStream(true, socket, { keyPair: clientKey });
      s.on('error', () => {});
      return s;
    },
    async close() {
      for (const s of held) s.destroy();
      await closeServer(server);
    },
  };
}

async function secret(z: Sizes): Promise<SpeedFigures> {
  let mode: 'echo' | 'sink' = 'sink';
  let sink: (n: number) => void = () => {};
  const srv = await secretServer((s) => {
    const m = mode;
    s.on('data', (d: Buffer) => (m === 'echo' ? s.write(d) : sink(d.length)));
  });
  try {
    const a = await srv.open();
    const bulk = await warmBulk(z, (total) => {
      const c = byteCounter(total);
      sink = c.count;
      return bulkThroughput(a, () => c.done, total);
    });
    a.destroy();
    mode = 'echo';
    const b = await srv.open();
    const next = byteWaiter((l) => b.on('data', (d: Buffer) => l(d.length)));
    const rtt = await timed(z.rtts, Math.min(1000, z.rtts), async () => {
      const p = next(MSG.length);
      b.write(MSG);
      await p;
    });
    b.destroy();
    return { bulk, rttP50: rtt.p50, rttP99: rtt.p99, connectP50: Number.NaN };
  } finally {
    await srv.close();
  }
}

/** RSS per idle secret-stream connection over TCP (both ends), in KiB; run in a child process. */
export async function rssSecret(n: number): Promise<number> {
  const srv = await secretServer(() => {});
  try {
    const rss = await rssPerConnection(
      n,
      async () => {
        const s = await srv.open();
        await new Promise<void>((resolve) => s.once('open', () => resolve()));
        return s;
      },
      async (conns) => {
        for (const s of conns) s.destroy();
        await new Promise((r) => setTimeout(r, 100));
      },
    );
    return rss / 1024;
  } finally {
    await srv.close();
  }
}

// ---- js-libp2p: TCP + noise + yamux --------------------------------------------------------

async function libp2pNodes() {
  const { createLibp2p } = await import('libp2p');
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  // A fresh options object per node: createLibp2p keeps the key it generates in the one it gets.
  const options = (listen: string[]) => ({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: 100_000,
      inboundConnectionThreshold: 1_000_000,
      maxIncomingPendingConnections: 100_000,
    },
  });
  const a = await createLibp2p(options(['/ip4/127.0.0.1/tcp/0']));
  const b = await createLibp2p(options([]));
  return { a, b, ma: a.getMultiaddrs()[0]! };
}

async function libp2p(z: Sizes): Promise<SpeedFigures> {
  const { a, b, ma } = await libp2pNodes();
  let sink: (n: number) => void = () => {};
  await a.handle(
    '/echo/1',
    (stream) => {
      stream.addEventListener('message', (evt) => stream.send(evt.data));
    },
    { maxInboundStreams: 10_000 },
  );
  await a.handle(
    '/sink/1',
    (stream) => {
      stream.addEventListener('message', (evt) => sink(evt.data.byteLength));
    },
    { maxInboundStreams: 10_000 },
  );
  try {
    const bulkStream = await b.dialProtocol(ma, '/sink/1');
    const bulk = await warmBulk(z, (total) => {
      const c = byteCounter(total);
      sink = c.count;
      return bulkThroughput(
        {
          write: (d) => bulkStream.send(d),
          once: (_e, fn) => bulkStream.addEventListener('drain', () => fn(), { once: true }),
        },
        () => c.done,
        total,
      );
    });
    bulkStream.abort(new Error('done'));
    const echo = await b.dialProtocol(ma, '/echo/1');
    const next = byteWaiter((l) =>
      echo.addEventListener('message', (evt) => l(evt.data.byteLength)),
    );
    const rtt = await timed(z.rtts, Math.min(1000, z.rtts), async () => {
      const p = next(MSG.length);
      echo.send(MSG);
      await p;
    });
    echo.abort(new Error('done'));
    return { bulk, rttP50: rtt.p50, rttP99: rtt.p99, connectP50: Number.NaN };
  } finally {
    await b.stop();
    await a.stop();
  }
}

/** RSS per idle js-libp2p connection (both ends), in KiB; run in a child process. */
export async function rssLibp2p(n: number): Promise<number> {
  const { a, b, ma } = await libp2pNodes();
  try {
    const rss = await rssPerConnection(
      n,
      () => b.dial(ma, { force: true }),
      async (conns) => {
        await Promise.all(conns.map((c) => c.close().catch(() => {})));
      },
    );
    return rss / 1024;
  } finally {
    await b.stop();
    await a.stop();
  }
}

// ---- raw TCP -------------------------------------------------------------------------------

async function raw(z: Sizes): Promise<SpeedFigures> {
  const r = await measureRawTcp(z.bulkBytes < 512 * 1024 * 1024);
  return { bulk: r.bulk, rttP50: r.p50, rttP99: r.p99, connectP50: Number.NaN };
}

// ---- connect, all implementations interleaved ------------------------------------------------

/** One way to connect, handshake, open a stream and echo 100 bytes; `close` ends it all. */
interface Connector {
  once(): Promise<void>;
  close(): Promise<void>;
}

async function detrConnector(): Promise<Connector> {
  const net = detrNetwork();
  const server = createTcpTransport(net.member(), {});
  const client = createTcpTransport(net.member(), {});
  const listener = await server.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), () => {});
  const address = listener.addresses()[0]!;
  return {
    async once() {
      const c = await client.dial(address);
      await detrFirstRoundTrip(c, MSG);
      c.abort();
    },
    async close() {
      await listener.close();
      await client.close();
      await server.close();
    },
  };
}

async function secretConnector(): Promise<Connector> {
  const srv = await secretServer((s) => s.on('data', (d: Buffer) => s.write(d)));
  return {
    async once() {
      const s = await srv.open();
      const back = new Promise<void>((resolve) => s.once('data', () => resolve()));
      s.write(MSG);
      await back;
      s.destroy();
    },
    close: () => srv.close(),
  };
}

async function libp2pConnector(): Promise<Connector> {
  const { a, b, ma } = await libp2pNodes();
  await a.handle('/echo/1', (stream) => {
    stream.addEventListener('message', (evt) => stream.send(evt.data));
  });
  return {
    async once() {
      const conn = await b.dial(ma, { force: true });
      const s = await conn.newStream('/echo/1');
      const back = new Promise<void>((resolve) =>
        s.addEventListener('message', () => resolve(), { once: true }),
      );
      s.send(MSG);
      await back;
      await conn.close();
    },
    async close() {
      await b.stop();
      await a.stop();
    },
  };
}

async function rawConnector(): Promise<Connector> {
  const { server, port } = await listenLoopback((s) => s.pipe(s));
  return {
    async once() {
      const socket = await connectLoopback(port);
      const back = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(MSG);
      await back;
      socket.destroy();
    },
    close: () => closeServer(server),
  };
}

type Impl = 'd' | 'r' | 's' | 'l';

/**
 * Connect p50 of every implementation, measured in small interleaved batches (10 connects each,
 * js-libp2p 2) after a warm-up of 10 batches (2 with --quick): a co-tenant's burst on the shared
 * machine then lands on all of them alike instead of on one implementation's whole phase.
 */
async function interleavedConnects(
  connects: number,
  warmupBatches: number,
): Promise<Record<Impl, number>> {
  const impls: Record<Impl, Connector> = {
    d: await detrConnector(),
    r: await rawConnector(),
    s: await secretConnector(),
    l: await libp2pConnector(),
  };
  const perBatch: Record<Impl, number> = { d: 10, r: 10, s: 10, l: 2 };
  const samples: Record<Impl, number[]> = { d: [], r: [], s: [], l: [] };
  const keys: Impl[] = ['d', 'r', 's', 'l'];
  try {
    // Warm-up: every implementation's connect path reaches steady state (JIT) first.
    for (const k of keys)
      for (let i = 0; i < warmupBatches * perBatch[k]; i++) await impls[k].once();
    for (let b = 0; b < Math.ceil(connects / 10); b++) {
      for (const k of keys) {
        for (let i = 0; i < perBatch[k]; i++) {
          const t = process.hrtime.bigint();
          await impls[k].once();
          samples[k].push(Number(process.hrtime.bigint() - t) / 1000);
        }
      }
    }
  } finally {
    for (const k of keys) await impls[k].close();
  }
  const p50 = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  return { d: p50(samples.d), r: p50(samples.r), s: p50(samples.s), l: p50(samples.l) };
}

/** RSS per idle raw TCP connection (both ends), in KiB; run in a child process. */
export async function rssRaw(n: number): Promise<number> {
  const { server, port } = await listenLoopback(() => {});
  try {
    const rss = await rssPerConnection(
      n,
      () => connectLoopback(port),
      async (conns) => {
        for (const s of conns) s.destroy();
        await new Promise((res) => setTimeout(res, 100));
      },
    );
    return rss / 1024;
  } finally {
    await closeServer(server);
  }
}

// ---- the run --------------------------------------------------------------------------------

function print(ctx: BenchContext, name: string, f: SpeedFigures, rssKiB: number): void {
  ctx.figure(`${name}.bulk`, f.bulk, 'MB/s');
  ctx.figure(`${name}.rtt.p50`, f.rttP50, 'us');
  ctx.figure(`${name}.rtt.p99`, f.rttP99, 'us');
  ctx.figure(`${name}.connect.p50`, f.connectP50, 'us');
  ctx.figure(`${name}.rss_per_conn`, rssKiB, 'KiB');
}

const bench: Benchmark = {
  name: 'transport',
  description:
    'detr TCP transport beside raw TCP, js-libp2p (tcp+noise+yamux) and secret-stream: bulk, 100 B round trip, connect, RSS per idle connection',
  async run(ctx) {
    const z: Sizes = ctx.quick
      ? { bulkBytes: 64 * 1024 * 1024, rtts: 2000, connects: 50, idle: 100, rounds: 1 }
      : { bulkBytes: 256 * 1024 * 1024, rtts: 10_000, connects: 150, idle: 1000, rounds: 3 };
    ctx.note(
      `loopback, one process; best of ${z.rounds} rounds of: bulk ${z.bulkBytes >> 20} MiB, ` +
        `${z.rtts} round trips, ${z.connects} connects; ${z.idle} idle connections (RSS in child processes)`,
    );
    const me = fileURLToPath(import.meta.url);
    const rss = {
      detr: await inChild(me, 'rssDetr', z.idle),
      raw: await inChild(me, 'rssRaw', z.idle),
      secret: await inChild(me, 'rssSecret', z.idle),
      libp2p: await inChild(me, 'rssLibp2p', z.idle),
    };
    // Rounds, each implementation once per round in a rotating order, best figure kept: on a
    // shared machine a neighbour's burst then hurts one round of one implementation, not the
    // comparison.
    const runs = await rotatedRounds(z.rounds, {
      d: () => detrTcp(z),
      r: () => raw(z),
      s: () => secret(z),
      l: () => libp2p(z),
    });
    const [d, r, s, l] = [best(runs.d), best(runs.r), best(runs.s), best(runs.l)];
    const connect = await interleavedConnects(z.connects, z.rounds > 1 ? 10 : 2);
    d.connectP50 = connect.d;
    r.connectP50 = connect.r;
    s.connectP50 = connect.s;
    l.connectP50 = connect.l;
    print(ctx, 'transport.tcp.detr', d, rss.detr);
    print(ctx, 'transport.tcp.raw', r, rss.raw);
    print(ctx, 'transport.tcp.secret_stream', s, rss.secret);
    print(ctx, 'transport.tcp.libp2p', l, rss.libp2p);
    ctx.ratio('transport.tcp.bulk.detr/best_anchor', d.bulk, Math.max(s.bulk, l.bulk));
    ctx.ratio('transport.tcp.bulk.detr/raw', d.bulk, r.bulk);
    ctx.ratio('transport.tcp.rtt.p50.detr/secret_stream', d.rttP50, s.rttP50);
    ctx.ratio('transport.tcp.rtt.p99.detr/secret_stream', d.rttP99, s.rttP99);
    ctx.ratio('transport.tcp.rtt.p50.detr/libp2p', d.rttP50, l.rttP50);
    ctx.ratio('transport.tcp.connect.p50.detr/secret_stream', d.connectP50, s.connectP50);
    ctx.ratio('transport.tcp.connect.p50.detr/libp2p', d.connectP50, l.connectP50);
    ctx.ratio('transport.tcp.rss_per_conn.detr/secret_stream', rss.detr, rss.secret);
    ctx.ratio('transport.tcp.rss_per_conn.detr/libp2p', rss.detr, rss.libp2p);
  },
};

export default bench;
