// @detr/node: send latency p50 with and without acknowledgement, request/response round trip,
// and pub/sub delivery latency p50/p99 across N nodes (50; 12 in --quick), beside js-libp2p
// (tcp + noise + yamux) in the same run: one-way latency on a long-lived stream and a
// stream-per-request round trip for the point-to-point figures, gossipsub on the same number of
// nodes for pub/sub.
import '../lib/shims.js';
import { createIdentity, peerIdFromBytes } from '@detr/aecomms';
import { parseAddress } from '@detr/interface';
import {
  createNetwork,
  createNode,
  createPubSub,
  issueToken,
  type DetrNode,
  type PubSub,
} from '@detr/node';
import { createConnectionManager, createTcpTransport } from '@detr/transport';
import { detrNetwork } from '../lib/transport-common.js';
import type { Benchmark } from '../lib/harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const now = (): number => performance.timeOrigin + performance.now();
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number);
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await wait(20);
  }
  return true;
}

/** Random neighbours plus a ring, so the graph is connected. */
function topology(n: number, degree: number): Array<[number, number]> {
  const edges = new Set<string>();
  const out: Array<[number, number]> = [];
  const add = (a: number, b: number): void => {
    if (a === b) return;
    const k = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (edges.has(k)) return;
    edges.add(k);
    out.push([a, b]);
  };
  for (let i = 0; i < n; i++) {
    add(i, (i + 1) % n);
    for (let k = 0; k < degree - 2; k++) add(i, Math.floor(Math.random() * n));
  }
  return out;
}

function detrNodes(n: number): DetrNode[] {
  const admin = createIdentity();
  const network = createNetwork(admin, 'bench');
  const config = {
    transport: { listen: ['/ip4/127.0.0.1/tcp/0'], connection_timeout_ms: 10_000 },
    stored: { backend: 'memory' as const },
    node: { gossip_heartbeat_ms: 700, log_level: 'silent' },
    fluent: { peer_messages_per_sec: 1_000_000, inbound_messages_per_sec: 1_000_000 },
  };
  return Array.from({ length: n }, () => {
    const identity = createIdentity();
    return createNode(
      { config, network, token: issueToken(admin, network, identity.peerId).token },
      { identity },
    );
  });
}

/** Latencies (ms) of detr's send (fire-and-forget, acknowledged) and request round trip. */
export async function detrPointToPoint(
  rounds: number,
): Promise<{ ff: number[]; ack: number[]; rtt: number[] }> {
  const [a, b] = detrNodes(2) as [DetrNode, DetrNode];
  await a.start();
  await b.start();
  try {
    await a.connect(b.addresses()[0] as string);
    b.handle('echo', (d) => d);
    let pending: ((t: number) => void) | undefined;
    b.onMessage('lat', (m) => pending?.(now() - Number(new TextDecoder().decode(m.data))));
    const ff: number[] = [];
    const ack: number[] = [];
    const rtt: number[] = [];
    for (let i = 0; i < rounds + 50; i++) {
      const got = new Promise<number>((r) => (pending = r));
      await a.send(b.peerId, 'lat', enc(String(now())));
      const t = await got;
      if (i >= 50) ff.push(t);
    }
    for (let i = 0; i < rounds + 50; i++) {
      const s = performance.now();
      await a.send(b.peerId, 'acked', enc('x'), { qos: 'ack' });
      if (i >= 50) ack.push(performance.now() - s);
    }
    for (let i = 0; i < rounds + 50; i++) {
      const s = performance.now();
      await a.request(b.peerId, 'echo', enc('x'));
      if (i >= 50) rtt.push(performance.now() - s);
    }
    return { ff, ack, rtt };
  } finally {
    await a.stop();
    await b.stop();
  }
}

/** Latencies (ms) of pub/sub deliveries, and how many of the expected ones arrived. */
export interface PubSubResult {
  latencies: number[];
  expected: number;
  delivered: number;
  /** Deliveries of a message a node already had (should be 0). */
  duplicates: number;
  /** Dials of the topology that failed. */
  connectFailures: number;
}

export async function detrPubSub(n: number, messages: number): Promise<PubSubResult> {
  const nodes = detrNodes(n);
  await Promise.all(nodes.map((x) => x.start()));
  try {
    // A failed dial leaves the graph with one edge less (the ring plus chords stays connected
    // in practice); failures are reported, not fatal.
    let connectFailures = 0;
    for (const [i, j] of topology(n, 6)) {
      await nodes[i]!.connect(nodes[j]!.addresses()[0] as string).catch(() => connectFailures++);
    }
    const latencies: number[] = [];
    let delivered = 0;
    let duplicates = 0;
    const seen = new Set<string>();
    nodes.forEach((x, i) => {
      x.subscribe('bench', (m) => {
        if (m.from.equals(x.peerId)) return;
        const text = new TextDecoder().decode(m.data);
        if (seen.has(`${i} ${text}`)) return void duplicates++;
        seen.add(`${i} ${text}`);
        delivered++;
        latencies.push(now() - Number(text));
      });
    });
    await until(() => nodes.every((x) => x.pubsub.mesh('bench').length >= 3), 20_000);
    for (let k = 0; k < messages; k++) {
      await nodes[Math.floor(Math.random() * n)]!.publish('bench', enc(String(now())));
      await wait(20);
    }
    const expected = messages * (n - 1);
    await until(() => delivered >= expected, 10_000);
    return { latencies, expected, delivered, duplicates, connectFailures };
  } finally {
    await Promise.all(nodes.map((x) => x.stop()));
  }
}

/**
 * The gossip engine alone: createPubSub on @detr/transport connection managers (TCP 127.0.0.1,
 * Noise XX, mux), no DHT or other node parts, to tell gossip's cost from the composed node's.
 */
export async function detrPubSubEngine(n: number, messages: number): Promise<PubSubResult> {
  const net = detrNetwork();
  const peers = await Promise.all(
    Array.from({ length: n }, async () => {
      const member = net.member();
      const cm = createConnectionManager(
        {
          peer: member.identity.peerId,
          transports: [createTcpTransport(member, {})],
          registry: member.registry,
        },
        { listen: [parseAddress('/ip4/127.0.0.1/tcp/0')], dialTimeoutMs: 10_000 },
      );
      await cm.start();
      const ps = createPubSub(
        { connections: cm, identity: member.identity, peerIdFromBytes },
        { heartbeatMs: 700 },
      );
      ps.start();
      return { member, cm, ps };
    }),
  );
  const pubsubs: PubSub[] = peers.map((p) => p.ps);
  try {
    let connectFailures = 0;
    for (const [i, j] of topology(n, 6)) {
      const to = peers[j]!;
      peers[i]!.cm.addAddress(to.member.identity.peerId, to.cm.addresses()[0]!);
      await peers[i]!.cm.dial(to.member.identity.peerId).catch(() => connectFailures++);
    }
    const latencies: number[] = [];
    let delivered = 0;
    let duplicates = 0;
    const seen = new Set<string>();
    pubsubs.forEach((x, i) => {
      x.subscribe('bench', (m) => {
        if (m.from.equals(peers[i]!.member.identity.peerId)) return;
        const text = new TextDecoder().decode(m.data);
        if (seen.has(`${i} ${text}`)) return void duplicates++;
        seen.add(`${i} ${text}`);
        delivered++;
        latencies.push(now() - Number(text));
      });
    });
    await until(() => pubsubs.every((x) => x.mesh('bench').length >= 3), 20_000);
    for (let k = 0; k < messages; k++) {
      await pubsubs[Math.floor(Math.random() * n)]!.publish('bench', enc(String(now())));
      await wait(20);
    }
    const expected = messages * (n - 1);
    await until(() => delivered >= expected, 10_000);
    return { latencies, expected, delivered, duplicates, connectFailures };
  } finally {
    for (const p of peers) p.ps.stop();
    await Promise.all(peers.map(async (p) => p.cm.stop()));
  }
}

export async function libp2pPubSub(n: number, messages: number): Promise<PubSubResult> {
  const { createLibp2p } = await import('libp2p');
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  const { identify } = await import('@libp2p/identify');
  const { gossipsub } = await import('@libp2p/gossipsub');
  const nodes = await Promise.all(
    Array.from({ length: n }, () =>
      createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: {
          identify: identify(),
          pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
        },
      }),
    ),
  );
  try {
    for (const [i, j] of topology(n, 6)) await nodes[i]!.dial(nodes[j]!.getMultiaddrs()[0]!);
    const latencies: number[] = [];
    let delivered = 0;
    let duplicates = 0;
    const seen = new Set<string>();
    nodes.forEach((x, i) => {
      x.services.pubsub.subscribe('bench');
      x.services.pubsub.addEventListener('message', (evt) => {
        const text = new TextDecoder().decode(evt.detail.data);
        if (seen.has(`${i} ${text}`)) return void duplicates++;
        seen.add(`${i} ${text}`);
        delivered++;
        latencies.push(now() - Number(text));
      });
    });
    await until(
      () =>
        nodes.every(
          (x) =>
            (x.services.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(
              'bench',
            ).length >= 3,
        ),
      20_000,
    );
    for (let k = 0; k < messages; k++) {
      await nodes[Math.floor(Math.random() * n)]!.services.pubsub.publish(
        'bench',
        enc(String(now())),
      );
      await wait(20);
    }
    const expected = messages * (n - 1);
    await until(() => delivered >= expected, 10_000);
    return { latencies, expected, delivered, duplicates, connectFailures: 0 };
  } finally {
    await Promise.all(nodes.map((x) => x.stop() as Promise<void>));
  }
}

/** js-libp2p's nearest equivalents: one-way latency on a long-lived stream, stream-per-request RTT. */
export async function libp2pPointToPoint(rounds: number): Promise<{ ff: number[]; rtt: number[] }> {
  const { createLibp2p } = await import('libp2p');
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  const options = (listen: string[]) => ({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  const a = await createLibp2p(options(['/ip4/127.0.0.1/tcp/0']));
  const b = await createLibp2p(options([]));
  try {
    let pending: ((t: number) => void) | undefined;
    await a.handle('/bench/lat/1', (stream) => {
      stream.addEventListener('message', (evt) =>
        pending?.(now() - Number(new TextDecoder().decode(evt.data.subarray()))),
      );
    });
    await a.handle(
      '/bench/req/1',
      (stream) => {
        stream.addEventListener('message', (evt) => {
          stream.send(evt.data);
          void stream.close().catch(() => {});
        });
      },
      { maxInboundStreams: 10_000 },
    );
    const ma = a.getMultiaddrs()[0]!;
    const conn = await b.dial(ma);
    const lat = await conn.newStream('/bench/lat/1');
    const ff: number[] = [];
    for (let i = 0; i < rounds + 50; i++) {
      const got = new Promise<number>((r) => (pending = r));
      lat.send(enc(String(now())));
      const t = await got;
      if (i >= 50) ff.push(t);
    }
    const rtt: number[] = [];
    for (let i = 0; i < rounds + 50; i++) {
      const s = performance.now();
      const stream = await conn.newStream('/bench/req/1');
      const back = new Promise<void>((resolve) =>
        stream.addEventListener('message', () => resolve(), { once: true }),
      );
      stream.send(enc('x'));
      await back;
      await stream.close().catch(() => {});
      if (i >= 50) rtt.push(performance.now() - s);
    }
    return { ff, rtt };
  } finally {
    await b.stop();
    await a.stop();
  }
}

const bench: Benchmark = {
  name: 'node',
  description:
    'detr node: send latency (fire-and-forget, acknowledged), request round trip, pub/sub delivery beside js-libp2p gossipsub',
  async run(ctx) {
    ctx.note(
      'detr nodes made by createNode on TCP 127.0.0.1 (@detr/transport: Noise XX + mux); js-libp2p on tcp + noise + yamux',
    );
    const rounds = ctx.quick ? 300 : 3000;
    const p2p = await detrPointToPoint(rounds);
    ctx.figure('node.send.p50', pct(p2p.ff, 50) * 1000, 'us');
    ctx.figure('node.send.ack.p50', pct(p2p.ack, 50) * 1000, 'us');
    ctx.figure('node.request.rtt.p50', pct(p2p.rtt, 50) * 1000, 'us');
    ctx.figure('node.request.rtt.p99', pct(p2p.rtt, 99) * 1000, 'us');
    const lp = await libp2pPointToPoint(rounds);
    ctx.figure('libp2p.stream.oneway.p50', pct(lp.ff, 50) * 1000, 'us');
    ctx.figure('libp2p.stream_per_request.rtt.p50', pct(lp.rtt, 50) * 1000, 'us');
    ctx.figure('libp2p.stream_per_request.rtt.p99', pct(lp.rtt, 99) * 1000, 'us');
    ctx.ratio('node.send.p50_vs_libp2p_oneway', pct(p2p.ff, 50), pct(lp.ff, 50));
    ctx.ratio('node.request.rtt.p50_vs_libp2p', pct(p2p.rtt, 50), pct(lp.rtt, 50));
    const n = ctx.quick ? 12 : 50;
    const messages = ctx.quick ? 10 : 50;
    const d = await detrPubSub(n, messages);
    ctx.figure(`node.pubsub.n${n}.p50`, pct(d.latencies, 50), 'ms');
    ctx.figure(`node.pubsub.n${n}.p99`, pct(d.latencies, 99), 'ms');
    ctx.figure(
      `node.pubsub.n${n}.delivered`,
      (100 * Math.min(d.delivered, d.expected)) / d.expected,
      '%',
    );
    ctx.figure(`node.pubsub.n${n}.duplicates`, d.duplicates, 'msgs');
    if (d.connectFailures > 0) ctx.note(`detr: ${d.connectFailures} topology dials failed`);
    const e = await detrPubSubEngine(n, messages);
    ctx.figure(`node.pubsub_engine.n${n}.p50`, pct(e.latencies, 50), 'ms');
    ctx.figure(`node.pubsub_engine.n${n}.p99`, pct(e.latencies, 99), 'ms');
    ctx.figure(
      `node.pubsub_engine.n${n}.delivered`,
      (100 * Math.min(e.delivered, e.expected)) / e.expected,
      '%',
    );
    ctx.figure(`node.pubsub_engine.n${n}.duplicates`, e.duplicates, 'msgs');
    const l = await libp2pPubSub(n, messages);
    ctx.figure(`libp2p.gossipsub.n${n}.p50`, pct(l.latencies, 50), 'ms');
    ctx.figure(`libp2p.gossipsub.n${n}.p99`, pct(l.latencies, 99), 'ms');
    ctx.figure(
      `libp2p.gossipsub.n${n}.delivered`,
      (100 * Math.min(l.delivered, l.expected)) / l.expected,
      '%',
    );
    ctx.figure(`libp2p.gossipsub.n${n}.duplicates`, l.duplicates, 'msgs');
    ctx.ratio(`node.pubsub.n${n}.p50_vs_gossipsub`, pct(d.latencies, 50), pct(l.latencies, 50));
    ctx.ratio(`node.pubsub.n${n}.p99_vs_gossipsub`, pct(d.latencies, 99), pct(l.latencies, 99));
    ctx.ratio(
      `node.pubsub_engine.n${n}.p50_vs_gossipsub`,
      pct(e.latencies, 50),
      pct(l.latencies, 50),
    );
    ctx.ratio(
      `node.pubsub_engine.n${n}.p99_vs_gossipsub`,
      pct(e.latencies, 99),
      pct(l.latencies, 99),
    );
  },
};

export default bench;
