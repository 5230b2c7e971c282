// Scheduler overhead of @detr/fluent: what its outbound scheduler adds per message, at each
// priority, with 8 peers contending for one shared pipe; plain p-queue (what fluent is built on)
// runs the same workload as the reference. Also: the send → sink latency of one peer's messages
// at each priority while 8 peers flood bulk (fairness and strict priority under load), and the
// uncontended cost of one awaited send.
import type { PeerId } from '@detr/interface';
import {
  PRIORITIES,
  createInboundLimiter,
  createScheduler,
  type OutboundMessage,
  type Priority,
  type Sink,
} from '@detr/fluent';
import PQueue from 'p-queue';
import type { Benchmark } from '../lib/harness.js';
import { percentile, usSince } from '../lib/stats.js';

const PEERS = 8;
const DATA = new Uint8Array(256);

function fakePeer(i: number): PeerId {
  const bytes = new Uint8Array([i]);
  const text = `benchpeer${i}`;
  return {
    type: 'Ed25519',
    publicKey: bytes,
    bytes,
    toString: () => text,
    equals: (o) => o.toString() === text,
  };
}

/** A sink that completes asynchronously, like a stream write that reports back later. */
const asyncSink: Sink = () => Promise.resolve();

function median(values: number[]): number {
  return percentile(values, 50);
}

/** µs per message through fluent: PEERS peers × perPeer messages at `priority`, one shared pipe. */
export async function fluentContended(priority: Priority, perPeer: number): Promise<number> {
  const scheduler = createScheduler(
    {},
    { peerLimit: {}, maxInFlight: 1, maxMessages: perPeer + 1, admitShare: { [priority]: 1 } },
  );
  await scheduler.start();
  const queues = Array.from({ length: PEERS }, (_, i) => scheduler.open(fakePeer(i), asyncSink));
  const all: Array<Promise<void>> = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < perPeer; i++) {
    for (const q of queues) all.push(q.send({ channel: 'bench', data: DATA, priority }));
  }
  await Promise.all(all);
  const us = usSince(start) / (perPeer * PEERS);
  await scheduler.stop();
  return us;
}

/** The same workload on plain p-queue (concurrency 1, its own priority queue). */
export async function plainPQueue(priority: Priority, perPeer: number): Promise<number> {
  const queue = new PQueue({ concurrency: 1 });
  const numeric = PRIORITIES.length - 1 - PRIORITIES.indexOf(priority);
  const all: Array<Promise<void>> = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < perPeer; i++) {
    for (let p = 0; p < PEERS; p++) {
      const m: OutboundMessage = { channel: 'bench', data: DATA, priority };
      all.push(queue.add(() => asyncSink(m) as Promise<void>, { priority: numeric }));
    }
  }
  await Promise.all(all);
  return usSince(start) / (perPeer * PEERS);
}

/**
 * send → sink latency (µs) of one peer's messages at `priority`, sent one at a time, while
 * `floodPeers` other peers keep `backlog` bulk messages each queued behind one shared pipe.
 */
export async function probeLatency(
  priority: Priority,
  backlog: number,
  probes: number,
  floodPeers = PEERS,
): Promise<number[]> {
  const scheduler = createScheduler({}, { peerLimit: {}, maxInFlight: 1 });
  await scheduler.start();
  const waits: number[] = [];
  let probeSentAt: bigint | undefined;
  const sink: Sink = (m) => {
    if (m.channel === 'probe' && probeSentAt !== undefined) {
      waits.push(Number(process.hrtime.bigint() - probeSentAt) / 1000);
    }
    return Promise.resolve();
  };
  const flood: Array<Promise<void>> = [];
  for (let p = 0; p < floodPeers; p++) {
    const q = scheduler.open(fakePeer(p), sink);
    for (let i = 0; i < backlog; i++) {
      flood.push(q.send({ channel: 'flood', data: DATA, priority: 'bulk' }).catch(() => {}));
    }
  }
  const probe = scheduler.open(fakePeer(255), sink);
  for (let i = 0; i < probes; i++) {
    probeSentAt = process.hrtime.bigint();
    await probe.send({ channel: 'probe', data: DATA, priority });
  }
  const left = scheduler.stats().priorities.bulk.depth;
  await scheduler.stop();
  await Promise.all(flood);
  if (left === 0) throw new Error('the bulk backlog ran out before the probes finished');
  return waits;
}

/** µs per awaited send with no contention (one peer, a sink that takes messages at once). */
export async function sequentialSend(n: number): Promise<number> {
  const scheduler = createScheduler({}, { peerLimit: {} });
  await scheduler.start();
  const q = scheduler.open(fakePeer(0), () => {});
  const m: OutboundMessage = { channel: 'bench', data: DATA };
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await q.send(m);
  const us = usSince(start) / n;
  await scheduler.stop();
  return us;
}

/**
 * ns per `InboundLimiter.accept()` over `peers` peers with the default quota (1,000 msg/s, burst
 * 1,000): a first pass of 1,000 messages per peer within the burst (accepted), then a flood pass
 * of `floodPerPeer` per peer beyond it (dropped; penalties throttled to one per peer per second).
 */
export function inboundAccept(
  peers: number,
  floodPerPeer: number,
): { acceptNs: number; dropNs: number } {
  let penalties = 0;
  const inbound = createInboundLimiter({
    peerReporter: { penalize: () => void penalties++, reward: () => {} },
  });
  const ids = Array.from({ length: peers }, (_, i) => fakePeer(i));
  const pass = (perPeer: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perPeer; i++) for (const id of ids) inbound.accept(id, 'chat', 256);
    return Number(process.hrtime.bigint() - start) / (perPeer * peers);
  };
  const acceptNs = pass(1000);
  const floodStart = process.hrtime.bigint();
  const dropNs = pass(floodPerPeer);
  // The buckets refill at 1,000 msg/s per peer on the real clock: on a loaded machine the passes
  // take long enough for some refill, which the flood pass may legitimately spend. The clock
  // ticks in whole ms, so each bucket may see up to 2 ms more than hrtime measured.
  const elapsedSec =
    Number(process.hrtime.bigint() - floodStart) / 1e9 + (acceptNs * 1000 * peers) / 1e9;
  const refill = peers * (Math.ceil(1000 * elapsedSec) + 2);
  const { dropped } = inbound.stats();
  if (dropped < peers * floodPerPeer - refill || penalties === 0) {
    throw new Error('the flood pass was not limited');
  }
  return { acceptNs, dropNs };
}

const bench: Benchmark = {
  name: 'fluent',
  description: 'outbound scheduler overhead per message at each priority under contention',
  async run(ctx) {
    const perPeer = ctx.quick ? 500 : 5000;
    const rounds = ctx.quick ? 1 : 5;
    ctx.note(
      `${PEERS} peers x ${perPeer} messages of 256 B per run, one shared pipe (maxInFlight 1), ` +
        `async sink; median of ${rounds} runs`,
    );
    // warm up the JIT on both paths
    for (const priority of PRIORITIES) {
      await fluentContended(priority, perPeer);
      await plainPQueue(priority, perPeer);
    }
    for (const priority of PRIORITIES) {
      const f: number[] = [];
      const p: number[] = [];
      for (let r = 0; r < rounds; r++) {
        f.push(await fluentContended(priority, perPeer));
        p.push(await plainPQueue(priority, perPeer));
      }
      const fluentUs = median(f);
      const pqueueUs = median(p);
      ctx.figure(`fluent.contended.${priority}.per_msg`, fluentUs, 'us');
      ctx.figure(`fluent.pqueue.${priority}.per_msg`, pqueueUs, 'us');
      ctx.figure(`fluent.overhead.${priority}`, fluentUs - pqueueUs, 'us');
      ctx.ratio(`fluent.contended.${priority}.fluent/pqueue`, fluentUs, pqueueUs);
    }
    const backlog = ctx.quick ? 1000 : 5000;
    const probes = ctx.quick ? 50 : 300;
    ctx.note(
      `probe: one peer sends ${probes} messages one at a time at each priority while ` +
        `${PEERS} peers keep ${backlog} bulk messages each queued on the same pipe`,
    );
    for (const priority of PRIORITIES) {
      const waits = await probeLatency(priority, backlog, probes);
      ctx.figure(`fluent.probe.${priority}.wait.p50`, percentile(waits, 50), 'us');
      ctx.figure(`fluent.probe.${priority}.wait.p99`, percentile(waits, 99), 'us');
    }
    const inbound = inboundAccept(250, ctx.quick ? 1000 : 4000);
    ctx.figure('fluent.inbound.accept', inbound.acceptNs, 'ns');
    ctx.figure('fluent.inbound.drop', inbound.dropNs, 'ns');
    ctx.figure('fluent.send.sequential', await sequentialSend(ctx.quick ? 5000 : 50_000), 'us');
  },
};

export default bench;
