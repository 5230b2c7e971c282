// @detr/transport over QUIC beside the raw quinn binding it runs on (@chainsafe/libp2p-quic's
// native layer, driven directly) and js-libp2p over @chainsafe/libp2p-quic, in one run on loopback
// (client and server in one process):
// - bulk MB/s: one stream, 64 KiB writes;
// - 100-byte round trip p50/p99 on an open stream;
// - connect + handshake + first stream p50 (detr: TLS, the network hello with the token check,
//   a stream, one 100-byte echo);
// - RSS per idle connection (both ends), in child processes.
// Targets: detr ≥ 0.9× the raw binding's throughput and round trip.
import '../lib/shims.js';
import { fileURLToPath } from 'node:url';
import { createIdentity } from '@detr/aecomms';
import {
  createQuicTransport,
  libp2pPrivateKey,
  loadQuinnBinding,
  type NativeClient,
  type NativeConnection,
  type NativeServer,
  type NativeStream,
  type QuinnConfigInit,
} from '@detr/transport';
import type { Benchmark, BenchContext } from '../lib/harness.js';
import { best } from './transport.js';
import { bulkThroughput, rotatedRounds } from '../lib/patterns.js';
import {
  byteCounter,
  byteWaiter,
  detrFirstRoundTrip,
  detrRssPerConnection,
  detrSpeed,
  inChild,
  rssPerConnection,
  timed,
  type DetrTransportFactory,
} from '../lib/transport-common.js';

interface Figures {
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
  rounds: number;
}

const MSG = Buffer.alloc(100, 0x62);
const CHUNK = new Uint8Array(64 * 1024).fill(7);

// ---- the raw quinn binding -------------------------------------------------------------------

function rawConfig(): QuinnConfigInit {
  const id = createIdentity();
  return {
    privateKeyProto: libp2pPrivateKey(id.exportSeed(), id.publicKey),
    handshakeTimeout: 10_000,
    maxIdleTimeout: 30_000,
    keepAliveInterval: 10_000,
    maxConcurrentStreamLimit: 256,
    maxStreamData: 256 * 1024,
    maxConnectionData: 16 * 1024 * 1024,
    receiveBufferSize: 4 * 1024 * 1024,
    sendBufferSize: 4 * 1024 * 1024,
  };
}

function rawPair(): Promise<{
  server: NativeServer;
  client: NativeClient;
  connect(): Promise<[NativeConnection, NativeConnection]>;
  close(): Promise<void>;
}> {
  const q = loadQuinnBinding();
  const server = new q.Server(new q.QuinnConfig(rawConfig()), '127.0.0.1', 0);
  const client = new q.Client(new q.QuinnConfig(rawConfig()), 0);
  const port = server.port();
  return Promise.resolve({
    server,
    client,
    async connect() {
      const accepted = server.inboundConnection();
      const c = await client.outboundConnection('127.0.0.1', port);
      return [c, await accepted];
    },
    async close() {
      client.abort();
      await server.abort();
    },
  });
}

async function readExactly(s: NativeStream, n: number): Promise<void> {
  let got = 0;
  while (got < n) {
    const chunk = await s.read(65_536);
    if (chunk === null) throw new Error('stream ended early');
    got += chunk.length;
  }
}

async function raw(z: Sizes): Promise<Figures> {
  const p = await rawPair();
  try {
    const [c, s] = await p.connect();
    // bulk: sequential 64 KiB writes; the reader takes up to 256 KiB per read.
    const bulkOnce = async (total: number): Promise<number> => {
      const out = await c.outboundStream();
      await out.write(CHUNK);
      const inb = await s.inboundStream();
      const t = process.hrtime.bigint();
      const reader = (async () => {
        let got = CHUNK.length;
        while (got < total) {
          const chunk = await inb.read(256 * 1024);
          if (chunk === null) break;
          got += chunk.length;
        }
      })();
      for (let sent = CHUNK.length; sent < total; sent += CHUNK.length) await out.write(CHUNK);
      await reader;
      await out.resetWrite();
      return total / (Number(process.hrtime.bigint() - t) / 1000);
    };
    await bulkOnce(Math.max(1 << 20, z.bulkBytes / 8));
    const bulk = await bulkOnce(z.bulkBytes);
    // round trip
    const a = await c.outboundStream();
    await a.write(MSG);
    const b = await s.inboundStream();
    await readExactly(b, MSG.length);
    const rtt = await timed(z.rtts, Math.min(1000, z.rtts), async () => {
      await a.write(MSG);
      await readExactly(b, MSG.length);
      await b.write(MSG);
      await readExactly(a, MSG.length);
    });
    c.abort();
    s.abort();
    // connect + first stream + one echo
    const connect = await timed(z.connects, 20, async () => {
      const [cc, ss] = await p.connect();
      const out = await cc.outboundStream();
      await out.write(MSG);
      const inb = await ss.inboundStream();
      await readExactly(inb, MSG.length);
      await inb.write(MSG);
      await readExactly(out, MSG.length);
      cc.abort();
      ss.abort();
    });
    return { bulk, rttP50: rtt.p50, rttP99: rtt.p99, connectP50: connect.p50 };
  } finally {
    await p.close();
  }
}

/** RSS per idle raw quinn connection (both ends), in KiB; run in a child process. */
export async function rssRawQuic(n: number): Promise<number> {
  const p = await rawPair();
  try {
    const rss = await rssPerConnection(
      n,
      () => p.connect(),
      async (conns) => {
        for (const [c, s] of conns) {
          c.abort();
          s.abort();
        }
        await new Promise((r) => setTimeout(r, 100));
      },
      10,
    );
    return rss / 1024;
  } finally {
    await p.close();
  }
}

// ---- detr QUIC --------------------------------------------------------------------------------

const QUIC: DetrTransportFactory = (c) => createQuicTransport(c, {});
const QUIC_AT = '/ip4/127.0.0.1/udp/0/quic';

async function detrQuic(z: Sizes): Promise<Figures> {
  const f = await detrSpeed(QUIC, QUIC_AT, z, {
    freshStream: true,
    more: async (dial) => {
      const connect = await timed(z.connects, 20, async () => {
        const c = await dial();
        await detrFirstRoundTrip(c, MSG);
        c.abort();
      });
      return { connectP50: connect.p50 };
    },
  });
  return { bulk: f.bulk, rttP50: f.rttP50, rttP99: f.rttP99, connectP50: f.more!.connectP50 };
}

/** RSS per idle detr QUIC connection (both ends), in KiB; run in a child process. */
export function rssDetrQuic(n: number): Promise<number> {
  return detrRssPerConnection(QUIC, QUIC_AT, n, 10);
}

// ---- js-libp2p over @chainsafe/libp2p-quic ------------------------------------------------

async function libp2pQuic(z: Sizes): Promise<Figures> {
  const { createLibp2p } = await import('libp2p');
  const { quic } = await import('@chainsafe/libp2p-quic');
  const options = (listen: string[]) => ({
    addresses: { listen },
    transports: [quic()],
    connectionManager: {
      maxConnections: 100_000,
      inboundConnectionThreshold: 1_000_000,
      maxIncomingPendingConnections: 100_000,
    },
  });
  const a = await createLibp2p(options(['/ip4/127.0.0.1/udp/0/quic-v1']));
  const b = await createLibp2p(options([]));
  let sink: (n: number) => void = () => {};
  await a.handle('/echo/1', (stream) => {
    stream.addEventListener('message', (evt) => stream.send(evt.data));
  });
  await a.handle('/sink/1', (stream) => {
    stream.addEventListener('message', (evt) => sink(evt.data.byteLength));
  });
  const ma = a.getMultiaddrs()[0]!;
  try {
    const bulkOnce = async (total: number): Promise<number> => {
      const c = byteCounter(total);
      sink = c.count;
      const st = await b.dialProtocol(ma, '/sink/1');
      const mbps = await bulkThroughput(
        {
          write: (d) => st.send(d),
          once: (_e, fn) => st.addEventListener('drain', () => fn(), { once: true }),
        },
        () => c.done,
        total,
      );
      st.abort(new Error('done'));
      return mbps;
    };
    await bulkOnce(Math.max(1 << 20, z.bulkBytes / 8));
    const bulk = await bulkOnce(z.bulkBytes);
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
    const connect = await timed(Math.min(z.connects, 100), 10, async () => {
      const c = await b.dial(ma, { force: true });
      const st = await c.newStream('/echo/1');
      const back = new Promise<void>((resolve) =>
        st.addEventListener('message', () => resolve(), { once: true }),
      );
      st.send(MSG);
      await back;
      await c.close();
    });
    return { bulk, rttP50: rtt.p50, rttP99: rtt.p99, connectP50: connect.p50 };
  } finally {
    await b.stop();
    await a.stop();
  }
}

// ---- the run --------------------------------------------------------------------------------

function print(ctx: BenchContext, name: string, f: Figures, rssKiB?: number): void {
  ctx.figure(`${name}.bulk`, f.bulk, 'MB/s');
  ctx.figure(`${name}.rtt.p50`, f.rttP50, 'us');
  ctx.figure(`${name}.rtt.p99`, f.rttP99, 'us');
  ctx.figure(`${name}.connect.p50`, f.connectP50, 'us');
  if (rssKiB !== undefined) ctx.figure(`${name}.rss_per_conn`, rssKiB, 'KiB');
}

const bench: Benchmark = {
  name: 'transport-quic',
  description:
    'detr QUIC transport beside the raw quinn binding and js-libp2p over @chainsafe/libp2p-quic: bulk, 100 B round trip, connect',
  async run(ctx) {
    const z: Sizes = ctx.quick
      ? { bulkBytes: 32 * 1024 * 1024, rtts: 1000, connects: 30, idle: 50, rounds: 1 }
      : { bulkBytes: 128 * 1024 * 1024, rtts: 5000, connects: 100, idle: 500, rounds: 5 };
    ctx.note(
      `loopback, one process; best of ${z.rounds} rounds of: bulk ${z.bulkBytes >> 20} MiB, ` +
        `${z.rtts} round trips, ${z.connects} connects; ${z.idle} idle connections (RSS in child processes)`,
    );
    const me = fileURLToPath(import.meta.url);
    const rss = {
      detr: await inChild(me, 'rssDetrQuic', z.idle),
      raw: await inChild(me, 'rssRawQuic', z.idle),
    };
    // Each implementation once per round, in a rotating order (see rotatedRounds).
    const runs = await rotatedRounds(z.rounds, {
      d: () => detrQuic(z),
      r: () => raw(z),
      l: () => libp2pQuic(z),
    });
    const [d, r, l] = [best(runs.d), best(runs.r), best(runs.l)];
    print(ctx, 'transport.quic.detr', d, rss.detr);
    print(ctx, 'transport.quic.raw', r, rss.raw);
    print(ctx, 'transport.quic.libp2p', l);
    ctx.ratio('transport.quic.bulk.detr/raw', d.bulk, r.bulk);
    ctx.ratio('transport.quic.rtt.p50.detr/raw', d.rttP50, r.rttP50);
    ctx.ratio('transport.quic.rtt.p50.raw/detr', r.rttP50, d.rttP50);
    ctx.ratio('transport.quic.connect.p50.detr/raw', d.connectP50, r.connectP50);
    ctx.ratio('transport.quic.bulk.detr/libp2p', d.bulk, l.bulk);
    ctx.ratio('transport.quic.rtt.p50.detr/libp2p', d.rttP50, l.rttP50);
    ctx.ratio('transport.quic.connect.p50.detr/libp2p', d.connectP50, l.connectP50);
    ctx.ratio('transport.quic.rss_per_conn.detr/raw', rss.detr, rss.raw);
  },
};

export default bench;
