// The ceiling every later figure is compared with: raw TCP on loopback, no encryption, no framing.
import type { Socket } from 'node:net';
import type { Benchmark } from '../lib/harness.js';
import { bulkThroughput, roundTrips } from '../lib/patterns.js';
import { closeServer, connectLoopback, listenLoopback } from '../lib/tcp.js';

/** Measures raw TCP bulk MB/s (64 KiB writes) and 100-byte round-trip p50/p99. */
export async function measureRawTcp(
  quick: boolean,
): Promise<{ bulk: number; p50: number; p99: number }> {
  const total = (quick ? 64 : 1024) * 1024 * 1024;
  let onBulkDone: () => void = () => {};
  let seen = 0;
  const { server: bulkServer, port: bulkPort } = await listenLoopback((s) => {
    s.on('data', (b: Buffer) => {
      seen += b.length;
      if (seen >= total) onBulkDone();
    });
  });
  const client = await connectLoopback(bulkPort);
  const bulk = await bulkThroughput(
    client,
    () => new Promise<void>((resolve) => (onBulkDone = resolve)),
    total,
  );
  client.destroy();
  await closeServer(bulkServer);

  const { server, port } = await listenLoopback((s) => s.pipe(s));
  const socket: Socket = await connectLoopback(port);
  const msg = Buffer.alloc(100, 1);
  let pending: { need: number; resolve: () => void } | undefined;
  socket.on('data', (b: Buffer) => {
    if (pending === undefined) return;
    pending.need -= b.length;
    if (pending.need <= 0) {
      const { resolve } = pending;
      pending = undefined;
      resolve();
    }
  });
  const rtt = await roundTrips(
    () =>
      new Promise<void>((resolve) => {
        pending = { need: msg.length, resolve };
        socket.write(msg);
      }),
    quick ? 2000 : 20_000,
  );
  socket.destroy();
  await closeServer(server);
  return { bulk, ...rtt };
}

const bench: Benchmark = {
  name: 'tcp',
  description: 'raw TCP loopback: bulk throughput (64 KiB writes) and 100-byte round trip',
  async run(ctx) {
    const r = await measureRawTcp(ctx.quick);
    ctx.figure('tcp.bulk', r.bulk, 'MB/s');
    ctx.figure('tcp.rtt.p50', r.p50, 'us');
    ctx.figure('tcp.rtt.p99', r.p99, 'us');
  },
};

export default bench;
