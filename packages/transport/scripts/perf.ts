// Hot paths of one detr connection on loopback, for profiling:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --conditions=@detr/source --import tsx \
//     packages/transport/scripts/perf.ts <bulk|rtt|connect> [tcp|quic] [count] [windowKiB]
// bulk: `count` MiB through one stream in 64 KiB writes (MB/s); rtt: `count` 100-byte echoes
// (p50 µs); connect: `count` dials + first stream + one echo (p50 µs).
import { createIdentity, createNetwork, createTokenVerifier, issueToken } from '@detr/aecomms';
import { parseAddress, type Address } from '@detr/interface';
import {
  createQuicTransport,
  createStreamRegistry,
  createTcpTransport,
  type TransportComponents,
} from '../src/index.js';

const [mode = 'bulk', kind = 'tcp', countText, windowText] = process.argv.slice(2);
const admin = createIdentity();
const network = createNetwork(admin, { name: 'perf' });
const member = (): TransportComponents & { registry: ReturnType<typeof createStreamRegistry> } => {
  const identity = createIdentity();
  return {
    identity,
    network,
    token: issueToken(admin, {
      networkId: network.networkId,
      peer: identity.peerId,
      expiresAtMs: Date.now() + 3_600_000,
    }),
    tokenVerifier: createTokenVerifier({}, { network }),
    registry: createStreamRegistry(),
  };
};
const make = kind === 'quic' ? createQuicTransport : createTcpTransport;
const init = windowText === undefined ? {} : { streamWindowBytes: Number(windowText) * 1024 };
const sm = member();
let got = 0;
let need = 0;
let onDone: () => void = () => {};
sm.registry.handle('/count/1', (s) => {
  s.on('data', (c: Buffer) => {
    got += c.length;
    if (got >= need) onDone();
  });
});
sm.registry.handle('/echo/1', (s) => void s.on('data', (c: Buffer) => s.write(c)));
const server = make(sm, init);
const client = make(member(), init);
const listener = await server.listen(
  parseAddress(kind === 'quic' ? '/ip4/127.0.0.1/udp/0/quic' : '/ip4/127.0.0.1/tcp/0'),
  () => {},
);
const address = listener.addresses()[0] as Address;
const p50 = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const msg = Buffer.alloc(100, 1);

if (mode === 'bulk') {
  need = Number(countText ?? 512) * 1024 * 1024;
  const conn = await client.dial(address);
  const s = await conn.newStream('/count/1');
  const chunk = new Uint8Array(65536).fill(7);
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const t = performance.now();
  for (let sent = 0; sent < need; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
  }
  await done;
  console.log(`${kind} bulk: ${(need / ((performance.now() - t) * 1000)).toFixed(1)} MB/s`);
  conn.abort();
} else if (mode === 'rtt') {
  const n = Number(countText ?? 20_000);
  const conn = await client.dial(address);
  const s = await conn.newStream('/echo/1');
  let wake: () => void = () => {};
  let pending = 0;
  s.on('data', (c: Buffer) => {
    pending -= c.length;
    if (pending <= 0) wake();
  });
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      pending = msg.length;
      wake = resolve;
      s.write(msg);
    });
  for (let i = 0; i < 1000; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    samples.push((performance.now() - t) * 1000);
  }
  console.log(`${kind} rtt p50: ${p50(samples).toFixed(1)} us`);
  conn.abort();
} else {
  const n = Number(countText ?? 300);
  const samples: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t = performance.now();
    const conn = await client.dial(address);
    const s = await conn.newStream('/echo/1');
    await new Promise<void>((resolve) => {
      s.once('data', () => resolve());
      s.write(msg);
    });
    if (i >= 20) samples.push((performance.now() - t) * 1000);
    conn.abort();
  }
  console.log(`${kind} connect p50: ${p50(samples).toFixed(1)} us`);
}
await listener.close();
await client.close();
await server.close();
