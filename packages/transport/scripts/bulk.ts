// One detr stream over TCP or QUIC on loopback, 64 KiB writes to a counting reader: prints MB/s.
// For profiling the hot path:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --conditions=@detr/source --import tsx \
//     packages/transport/scripts/bulk.ts [tcp|quic] [MiB]
import { createIdentity, createNetwork, createTokenVerifier, issueToken } from '@detr/aecomms';
import { parseAddress } from '@detr/interface';
import {
  createQuicTransport,
  createStreamRegistry,
  createTcpTransport,
  type TransportComponents,
} from '../src/index.js';

const kind = process.argv[2] === 'quic' ? 'quic' : 'tcp';
const total = Number(process.argv[3] ?? 512) * 1024 * 1024;
const admin = createIdentity();
const network = createNetwork(admin, { name: 'bulk' });
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
const sm = member();
let got = 0;
let onDone: () => void = () => {};
sm.registry.handle('/count/1', (s) => {
  s.on('data', (c: Buffer) => {
    got += c.length;
    if (got >= total) onDone();
  });
});
const win =
  process.argv[4] === undefined ? {} : { streamWindowBytes: Number(process.argv[4]) * 1024 };
const server = make(sm, win);
const client = make(member(), win);
const listener = await server.listen(
  parseAddress(kind === 'quic' ? '/ip4/127.0.0.1/udp/0/quic' : '/ip4/127.0.0.1/tcp/0'),
  () => {},
);
const conn = await client.dial(listener.addresses()[0]!);
const s = await conn.newStream('/count/1');
const chunk = new Uint8Array(65536).fill(7);
const done = new Promise<void>((resolve) => (onDone = resolve));
const t = performance.now();
for (let sent = 0; sent < total; sent += chunk.length) {
  if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
}
await done;
console.log(`${kind} bulk: ${(total / ((performance.now() - t) * 1000)).toFixed(1)} MB/s`);
conn.abort();
await listener.close();
await client.close();
await server.close();
