// Shared pieces of the transport benchmarks (transport.ts, transport-quic.ts): a detr network with
// members, the measurement loops over any stream-like object, and small statistics helpers.
import {
  createIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
  type Identity,
} from '@detr/aecomms';
import { parseAddress, type Connection, type Stream, type Transport } from '@detr/interface';
import {
  createStreamRegistry,
  type MutableStreamRegistry,
  type TransportComponents,
} from '@detr/transport';
import { bulkThroughput } from './patterns.js';
import { percentile, rssAfterGc, usSince, delay } from './stats.js';

/** Components of members of one benchmark network, each with a valid token. */
export function detrNetwork(): {
  member(): TransportComponents & { identity: Identity; registry: MutableStreamRegistry };
} {
  const admin = createIdentity();
  const network = createNetwork(admin, { name: 'bench' });
  return {
    member() {
      const identity = createIdentity();
      const registry = createStreamRegistry();
      // Bench protocols: echo, and a sink that counts what it receives.
      registry.handle('/echo/1', (s) => void s.pipe(s));
      registry.handle('/sink/1', (s) => void s.resume());
      return {
        identity,
        network,
        token: issueToken(admin, {
          networkId: network.networkId,
          peer: identity.peerId,
          expiresAtMs: Date.now() + 3_600_000,
        }),
        tokenVerifier: createTokenVerifier({}, { network }),
        registry,
      };
    },
  };
}

/** Waits until `n` bytes have come out of `stream` (counting from now). */
export function bytesFrom(stream: Stream, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (c: Buffer): void => {
      got += c.length;
      if (got >= n) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

/** `done` resolves once `count` has been told of `total` bytes in all. */
export function byteCounter(total: number): { count: (n: number) => void; done: Promise<void> } {
  let got = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    count(n) {
      got += n;
      if (got >= total) finish();
    },
    done,
  };
}

/** A reusable "wait for the next `n` bytes" on a stream that keeps flowing. */
export function byteWaiter(
  on: (listener: (bytes: number) => void) => void,
): (n: number) => Promise<void> {
  let pending: { need: number; resolve: () => void } | undefined;
  on((bytes) => {
    if (pending === undefined) return;
    pending.need -= bytes;
    if (pending.need <= 0) {
      const { resolve } = pending;
      pending = undefined;
      resolve();
    }
  });
  return (n) => new Promise<void>((resolve) => (pending = { need: n, resolve }));
}

/** Runs `once` `n` times in sequence after a warm-up; p50 and p99 in microseconds. */
export async function timed(
  n: number,
  warmup: number,
  once: () => Promise<void>,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await once();
    samples.push(usSince(t));
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/**
 * RSS growth per connection: opens `n` connections with `open` (both ends in this process, the
 * dialer's handle returned), lets them settle, and divides the RSS growth (after GC) by `n`.
 */
export async function rssPerConnection<T>(
  n: number,
  open: () => Promise<T>,
  close: (conns: T[]) => Promise<void>,
  batch = 25,
): Promise<number> {
  // Warm up the code paths so their one-off allocations are not counted.
  await close([await open(), await open()]);
  await delay(200);
  const before = rssAfterGc();
  const conns: T[] = [];
  for (let i = 0; i < n; i += batch) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, open))));
  }
  await delay(500);
  const after = rssAfterGc();
  await close(conns);
  return (after - before) / n;
}

/** Opens a detr stream, writes `first`, and resolves once as many bytes came back (echo). */
export async function detrFirstRoundTrip(conn: Connection, first: Uint8Array): Promise<void> {
  const s = await conn.newStream('/echo/1');
  const back = bytesFrom(s, first.length);
  s.write(first);
  await back;
  s.destroy();
}

/**
 * Runs `fn(n)` exported by module `file` in a fresh child process (same Node flags) and returns
 * the number it resolves to: memory figures measured there are not skewed by what this process
 * allocated before.
 */
export async function inChild(file: string, fn: string, n: number): Promise<number> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const entry = fileURLToPath(new URL('./transport-child.ts', import.meta.url));
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, entry, file, fn, String(n)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const m = /RESULT (-?[0-9.]+)/.exec(out);
      if (code === 0 && m !== null) resolve(Number(m[1]));
      else reject(new Error(`${fn} in a child process failed (exit ${code}): ${out.slice(-500)}`));
    });
  });
}

/** A detr transport of the benchmark (TCP or QUIC) made from a member's components. */
export type DetrTransportFactory = (components: TransportComponents) => Transport;

/** What {@link detrSpeed} measures on one detr transport. */
export interface DetrSpeedFigures {
  bulk: number;
  rttP50: number;
  rttP99: number;
}

const MSG = Buffer.alloc(100, 0x61);

/**
 * Bulk (one stream, 64 KiB writes; a warm-up of an eighth of `bulkBytes`, then all of it) and
 * `rtts` 100-byte round trips over one connection between two members on loopback. `freshStream`
 * opens a new bulk stream for the measured run (else the warm-up's stream, its window grown, is
 * kept). `more(dial)` then measures whatever else needs a listening server (connects).
 */
export async function detrSpeed<T = undefined>(
  make: DetrTransportFactory,
  listenAt: string,
  z: { bulkBytes: number; rtts: number },
  options: { freshStream: boolean; more?: (dial: () => Promise<Connection>) => Promise<T> },
): Promise<DetrSpeedFigures & { more: T | undefined }> {
  const net = detrNetwork();
  const serverMember = net.member();
  let sink: (n: number) => void = () => {};
  serverMember.registry.handle('/count/1', (s) => void s.on('data', (c: Buffer) => sink(c.length)));
  serverMember.registry.handle('/echo/1', (s) => void s.on('data', (c: Buffer) => s.write(c)));
  const server = make(serverMember);
  const client = make(net.member());
  const listener = await server.listen(parseAddress(listenAt), () => {});
  const address = listener.addresses()[0]!;
  try {
    const conn = await client.dial(address);
    let bulkStream: Stream | undefined;
    const bulkOnce = async (total: number): Promise<number> => {
      const c = byteCounter(total);
      sink = c.count;
      if (bulkStream === undefined || options.freshStream) {
        bulkStream?.destroy();
        bulkStream = await conn.newStream('/count/1');
      }
      return bulkThroughput(bulkStream, () => c.done, total);
    };
    await bulkOnce(Math.max(1 << 20, Math.floor(z.bulkBytes / 8 / 65536) * 65536));
    const bulk = await bulkOnce(z.bulkBytes);
    bulkStream?.destroy();
    const s = await conn.newStream('/echo/1');
    const next = byteWaiter((l) => s.on('data', (d: Buffer) => l(d.length)));
    const rtt = await timed(z.rtts, Math.min(1000, z.rtts), async () => {
      const p = next(MSG.length);
      s.write(MSG);
      await p;
    });
    s.destroy();
    conn.abort();
    const more = await options.more?.(() => client.dial(address));
    return { bulk, rttP50: rtt.p50, rttP99: rtt.p99, more };
  } finally {
    await listener.close();
    await client.close();
    await server.close();
  }
}

/** RSS per idle detr connection (both ends), in KiB, dialing `n` times between two members. */
export async function detrRssPerConnection(
  make: DetrTransportFactory,
  listenAt: string,
  n: number,
  batch?: number,
): Promise<number> {
  const net = detrNetwork();
  const server = make(net.member());
  const client = make(net.member());
  const listener = await server.listen(parseAddress(listenAt), () => {});
  const address = listener.addresses()[0]!;
  try {
    const rss = await rssPerConnection(
      n,
      () => client.dial(address),
      async (conns: Connection[]) => {
        for (const c of conns) c.abort();
        await delay(100);
      },
      batch,
    );
    return rss / 1024;
  } finally {
    await listener.close();
    await client.close();
    await server.close();
  }
}
