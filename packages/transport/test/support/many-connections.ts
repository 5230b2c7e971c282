// TEST ONLY, run in a child process by manager.test.ts: 14 peers dial one connection manager at
// once (14 concurrent inbound handshakes under one transport's shutdown signal), each opens a
// stream that never finishes, then the manager stops (14 graceful closes under one timeout
// signal). Node prints a MaxListenersExceededWarning on stderr if a signal gets over 10 listeners.
import { parseAddress, withPeer } from '@detr/interface';
import {
  createConnectionManager,
  createMemoryHub,
  createMemoryTransport,
} from '../../src/index.js';
import { createTestNetwork } from './network.js';

// The clock's timers are unref'ed (the memory transport holds no socket): keep the process up.
const keepAlive = setInterval(() => {}, 1000);
const net = createTestNetwork();
const hub = createMemoryHub();
const node = async (name: string, closeTimeoutMs = 5000) => {
  const m = net.member();
  m.registry.handle('/hold/1', () => {});
  const cm = createConnectionManager(
    {
      peer: m.identity.peerId,
      transports: [createMemoryTransport({ ...m, hub }, {})],
      registry: m.registry,
    },
    { listen: [parseAddress(`/memory/${name}`)], closeTimeoutMs },
  );
  await cm.start();
  return { cm, address: withPeer(parseAddress(`/memory/${name}`), m.identity.peerId.toString()) };
};
const center = await node('center', 300);
const spokes = await Promise.all(Array.from({ length: 14 }, (_, i) => node(`spoke-${i}`)));
const conns = await Promise.all(spokes.map((s) => s.cm.dial(center.address)));
await Promise.all(conns.map((c) => c.newStream('/hold/1')));
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`connections: ${center.cm.connections().length}\n`);
await center.cm.stop();
process.stdout.write('center stopped\n');
for (const s of spokes) await s.cm.stop();
await new Promise((r) => setTimeout(r, 50));
clearInterval(keepAlive);
