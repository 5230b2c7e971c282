import { afterEach, describe, expect, it } from '@jest/globals';
import { systemClock } from '@detr/interface';
import {
  createFrameDecoder,
  DhtResponse,
  DhtStatus,
  encodeFrame,
  MessageType,
  type DhtRequest,
} from '@detr/protocol';
import { createMemoryStore, type Store } from '@detr/stored';
import { createDht } from '../../src/dht.js';
import { DhtInvalidResponseError, DhtTimeoutError, DhtUnreachableError } from '../../src/errors.js';
import { hex } from '../../src/keys.js';
import { createStreamNetwork, type StreamNetwork } from '../../src/rpc/stream-network.js';
import { NETWORK_A, NETWORK_B, identity, recordingReporter } from '../support/fixtures.js';
import { fakeStreams } from '../support/fake-streams.js';

const ping = (id: number): DhtRequest => ({
  requestId: id,
  senderAddresses: [],
  body: 'ping',
  ping: {},
});
const ok = (r: DhtRequest) => ({
  requestId: r.requestId,
  status: DhtStatus.DHT_STATUS_OK,
  closerPeers: [],
  error: '',
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function pair() {
  const net = fakeStreams();
  const a = identity();
  const b = identity();
  const na = net.node(a.peerId, '/ip4/127.0.0.1/tcp/1001', hex(NETWORK_A));
  const nb = net.node(b.peerId, '/ip4/127.0.0.1/tcp/1002', hex(NETWORK_A));
  const reporter = recordingReporter();
  const sa = createStreamNetwork({ dialer: na.dialer }, { networkId: NETWORK_A });
  const sb = createStreamNetwork({ dialer: nb.dialer, reporter }, { networkId: NETWORK_A });
  cleanups.push(
    () => sa.stop(),
    () => sb.stop(),
  );
  return { net, a, b, na, nb, sa, sb, reporter };
}

describe('stream network', () => {
  it('sends a framed request on the network protocol and returns the framed response', async () => {
    const { a, b, nb, sa, sb } = pair();
    expect(sb.protocol).toBe(`/detr/${hex(NETWORK_A)}/dht/1`);
    sb.setHandler((i) => {
      expect(i.peer.equals(a.peerId)).toBe(true);
      return Promise.resolve(ok(i.request));
    });
    expect(nb.handlers.has(sb.protocol)).toBe(true);
    const reply = await sa.request({ peer: b.peerId, addresses: [nb.address] }, ping(7), {
      timeoutMs: 1000,
    });
    expect(reply.peer.equals(b.peerId)).toBe(true);
    expect(reply.response.requestId).toBe(7);
    expect(sa.listenAddresses().map(String)).toEqual(['/ip4/127.0.0.1/tcp/1001']);
    sb.setHandler(undefined);
    expect(nb.handlers.has(sb.protocol)).toBe(false);
  });

  it('types its failures: unreachable, wrong peer, no handler, timeout, garbage', async () => {
    const { b, nb, sa, sb, net } = pair();
    await expect(
      sa.request({ peer: b.peerId, addresses: [nb.address] }, ping(1), { timeoutMs: 500 }),
    ).rejects.toThrow(DhtUnreachableError); // no handler registered
    const other = net.node(identity().peerId, '/ip4/127.0.0.1/tcp/1003', hex(NETWORK_A));
    await expect(
      sa.request({ peer: b.peerId, addresses: [other.address] }, ping(1), { timeoutMs: 500 }),
    ).rejects.toThrow(DhtUnreachableError);
    sb.setHandler(() => new Promise(() => {})); // never answers
    await expect(
      sa.request({ peer: b.peerId, addresses: [nb.address] }, ping(2), { timeoutMs: 50 }),
    ).rejects.toThrow(DhtTimeoutError);
    // A server that answers garbage bytes.
    nb.handlers.set(sb.protocol, (stream) => {
      stream.on('error', () => {});
      stream.end(new Uint8Array([5, 1, 99, 1, 2, 3]));
    });
    await expect(
      sa.request({ peer: b.peerId, addresses: [nb.address] }, ping(3), { timeoutMs: 500 }),
    ).rejects.toThrow(DhtInvalidResponseError);
  });

  it('refuses connections of another network and resets hostile inbound streams', async () => {
    const { nb, sb, net, reporter } = pair();
    sb.setHandler((i) => Promise.resolve(ok(i.request)));
    const stranger = net.node(identity().peerId, '/ip4/127.0.0.1/tcp/1004', hex(NETWORK_B));
    const sc = createStreamNetwork({ dialer: stranger.dialer }, { networkId: NETWORK_A });
    cleanups.push(() => sc.stop());
    // The stranger's connection says network B: the stream is reset, the request fails.
    await expect(
      sc.request({ addresses: [nb.address] }, ping(1), { timeoutMs: 300 }),
    ).rejects.toThrow();
    // Garbage and oversized frames from a peer of the network: reset and reported.
    const na2 = net.node(identity().peerId, '/ip4/127.0.0.1/tcp/1005', hex(NETWORK_A));
    const c = await na2.dialer.dial(nb.address);
    const s1 = await c.newStream(sb.protocol);
    s1.on('error', () => {});
    s1.end(new Uint8Array([3, 1, 48, 0xff]));
    await new Promise((r) => s1.once('close', r));
    expect(reporter.penalties.map((p) => p.reason)).toContain('invalid-message');
    const s2 = await c.newStream(sb.protocol);
    s2.on('error', () => {});
    s2.end(
      encodeFrame(MessageType.DhtRequest, {
        requestId: 1,
        ping: {},
        senderAddresses: ['x'.repeat(200)],
      }),
    );
    const chunks: Buffer[] = [];
    s2.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => s2.once('close', r));
    expect(Buffer.concat(chunks).length).toBeGreaterThan(0); // a valid request is answered
    // Many requests on one stream, answered by request id.
    const s3 = await c.newStream(sb.protocol);
    s3.on('error', () => {});
    const answers: Buffer[] = [];
    s3.on('data', (d: Buffer) => answers.push(d));
    for (let i = 1; i <= 5; i++)
      s3.write(encodeFrame(MessageType.DhtRequest, { requestId: i, ping: {} }));
    s3.end();
    await new Promise((r) => s3.once('close', r));
    const got = createFrameDecoder().push(Buffer.concat(answers));
    expect(got.map((f) => DhtResponse.decode(f.body).requestId).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs the DHT end to end', async () => {
    const net = fakeStreams();
    const stores: Store[] = [];
    const nodes = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const id = identity();
        const fake = net.node(id.peerId, `/ip4/127.0.0.1/tcp/${2000 + i}`, hex(NETWORK_A));
        const network: StreamNetwork = createStreamNetwork(
          { dialer: fake.dialer },
          { networkId: NETWORK_A },
        );
        const store = createMemoryStore({}, { sweepIntervalMs: 0 });
        await store.start();
        stores.push(store);
        const dht = createDht(
          { signer: id, network, store, clock: systemClock },
          {
            networkId: NETWORK_A,
            bootstrap: i === 0 ? [] : ['/ip4/127.0.0.1/tcp/2000'],
            requestTimeoutMs: 1000,
          },
        );
        cleanups.push(async () => {
          await dht.stop();
          network.stop();
          await store.stop();
        });
        return dht;
      }),
    );
    await nodes[0]!.start();
    for (const d of nodes.slice(1)) {
      await d.start();
      await d.bootstrap();
    }
    const key = nodes[1]!.key('x');
    await nodes[1]!.put(key, new Uint8Array([42]));
    expect((await nodes[5]!.get(key))?.value).toEqual(new Uint8Array([42]));
    await nodes[2]!.announce();
    expect((await nodes[4]!.findPeer(nodes[2]!.peerId))?.addresses.map(String)).toEqual([
      '/ip4/127.0.0.1/tcp/2002',
    ]);
  });
});
