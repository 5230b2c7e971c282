// Fairness, deterministically: a manual clock, sinks that complete only when the test says so,
// and assertions on the exact order messages reach the sinks.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createManualClock, type ManualClock, type PeerReporter } from '@detr/interface';
import {
  createInboundLimiter,
  createScheduler,
  type OutboundMessage,
  type Scheduler,
  type SchedulerInit,
  type Sink,
} from '../src/index.js';
import { fakePeer, flush, handled, msg } from './helpers.js';

/** One shared pipe: every peer's sink call waits until the test releases it, in call order. */
function sharedPipe(): {
  sinkFor: (name: string) => Sink;
  log: string[];
  release: () => Promise<void>;
  inFlight: () => number;
} {
  const log: string[] = [];
  const waiting: Array<() => void> = [];
  return {
    log,
    sinkFor: (name) => (m: OutboundMessage) =>
      new Promise<void>((resolve) => {
        log.push(`${name}:${m.priority ?? 'normal'}:${m.data[0]}`);
        waiting.push(resolve);
      }),
    async release() {
      waiting.shift()?.();
      await flush();
    },
    inFlight: () => waiting.length,
  };
}

describe('fairness', () => {
  let clock: ManualClock;
  let scheduler: Scheduler;
  const make = async (init: SchedulerInit): Promise<Scheduler> => {
    clock = createManualClock();
    scheduler = createScheduler({ clock }, init);
    await scheduler.start();
    return scheduler;
  };
  afterEach(async () => {
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('a flooding peer gets one turn per round on a shared pipe: the others are never starved', async () => {
    await make({ maxInFlight: 1, peerLimit: {} });
    const pipe = sharedPipe();
    const a = scheduler.open(fakePeer('A'), pipe.sinkFor('A'));
    const b = scheduler.open(fakePeer('B'), pipe.sinkFor('B'));
    const c = scheduler.open(fakePeer('C'), pipe.sinkFor('C'));
    const flood = Array.from({ length: 1000 }, (_, i) => handled(a.send(msg('sync', i % 256))));
    const bs = Array.from({ length: 5 }, (_, i) => b.send(msg('chat', i)));
    const cs = Array.from({ length: 5 }, (_, i) => c.send(msg('chat', i)));
    for (let i = 0; i < 16; i++) await pipe.release();
    // A's first message went at once; A, busy, lost its place: then strict turns
    expect(pipe.log.map((l) => l[0]).join('')).toBe('ABCABCABCABCABCAA');
    await Promise.all([...bs, ...cs]); // B and C are done…
    expect(a.stats().depth).toBe(1000 - 7); // …while A still has its backlog
    expect(pipe.inFlight()).toBe(1); // the shared pipe never holds more than one message
    for (let i = 0; i < 1000; i++) await pipe.release();
    await Promise.all(flood);
  });

  it('a low-priority flood never delays more urgent messages, of any peer', async () => {
    await make({ maxInFlight: 1, peerLimit: {} });
    const pipe = sharedPipe();
    const a = scheduler.open(fakePeer('A'), pipe.sinkFor('A'));
    const b = scheduler.open(fakePeer('B'), pipe.sinkFor('B'));
    const bulk = Array.from({ length: 3000 }, (_, i) =>
      a.send(msg('sync', i % 256, 'bulk')).catch(() => {}),
    );
    const urgent = [
      a.send(msg('ctl', 1, 'critical')),
      b.send(msg('ctl', 2, 'critical')),
      b.send(msg('gossip', 3, 'high')),
    ];
    for (let i = 0; i < 4; i++) await pipe.release();
    // the first bulk message was already in the pipe; then critical (A, B), high, then bulk again
    expect(pipe.log.slice(0, 5)).toEqual([
      'A:bulk:0',
      'B:critical:2', // A just had its turn (and lost its place while busy): B goes first
      'A:critical:1',
      'B:high:3',
      'A:bulk:1',
    ]);
    await Promise.all(urgent);
    await scheduler.stop(); // rejects the queued bulk messages (one is still in the pipe)
    await pipe.release();
    await Promise.all(bulk);
  });

  it('a bulk flood cannot fill the queue: more urgent messages are still admitted at once', async () => {
    await make({ maxMessages: 100, peerLimit: {} }); // bulk may fill 50 %, critical 100 %
    const pipe = sharedPipe();
    const a = scheduler.open(fakePeer('A'), pipe.sinkFor('A'));
    const bulk = Array.from({ length: 200 }, (_, i) =>
      a.send(msg('sync', i, 'bulk')).catch(() => {}),
    );
    await flush();
    expect(a.stats()).toMatchObject({ depth: 50, waiting: 149, inFlight: 1 });
    const critical = Array.from({ length: 50 }, (_, i) => a.send(msg('ctl', i, 'critical')));
    expect(a.stats()).toMatchObject({ depth: 100, waiting: 149 });
    await pipe.release();
    expect(pipe.log[1]).toBe('A:critical:0'); // admitted and served ahead of 50 queued bulk
    for (let i = 0; i < 50; i++) await pipe.release();
    await Promise.all(critical);
    expect(pipe.log.slice(1, 51).every((l) => l.startsWith('A:critical:'))).toBe(true);
    await scheduler.stop();
    await pipe.release();
    await Promise.all(bulk);
  });

  it('a peer over its quota does not hold up the others (no head-of-line blocking)', async () => {
    await make({ peerLimit: { messagesPerSec: 10, burstMessages: 10 } });
    const sent = { A: 0, B: 0 };
    const a = scheduler.open(fakePeer('A'), () => void sent.A++);
    const b = scheduler.open(fakePeer('B'), () => void sent.B++);
    const as = Array.from({ length: 100 }, (_, i) => a.send(msg('sync', i)));
    const bs = Array.from({ length: 10 }, (_, i) => b.send(msg('chat', i)));
    await Promise.all(bs);
    expect(sent).toEqual({ A: 10, B: 10 });
    await clock.advanceAsync(1000);
    expect(sent.A).toBe(20);
    await clock.advanceAsync(8000);
    await Promise.all(as);
    expect(sent.A).toBe(100);
  });

  it('a channel over its quota does not hold up the peer’s other channels', async () => {
    await make({ peerLimit: {}, channelLimits: { sync: { messagesPerSec: 5 } } });
    const log: string[] = [];
    const a = scheduler.open(fakePeer('A'), (m) => void log.push(m.channel));
    const sync = Array.from({ length: 20 }, (_, i) => a.send(msg('sync', i)));
    const chat = Array.from({ length: 20 }, (_, i) => a.send(msg('chat', i)));
    await Promise.all(chat);
    expect(log.filter((c) => c === 'sync')).toHaveLength(5);
    expect(log.filter((c) => c === 'chat')).toHaveLength(20);
    await clock.advanceAsync(3000);
    await Promise.all(sync);
  });

  it('peers share a global byte quota in equal turns', async () => {
    await make({ peerLimit: {}, globalLimit: { bytesPerSec: 10_000 } });
    const sentBytes = { A: 0, B: 0, C: 0 };
    const count =
      (name: 'A' | 'B' | 'C'): Sink =>
      (m) =>
        void (sentBytes[name] += m.data.byteLength);
    const a = scheduler.open(fakePeer('A'), count('A'));
    const b = scheduler.open(fakePeer('B'), count('B'));
    const c = scheduler.open(fakePeer('C'), count('C'));
    const all = [
      ...Array.from({ length: 500 }, (_, i) => a.send(msg('sync', i % 256, 'normal', 1000))),
      ...Array.from({ length: 500 }, (_, i) => b.send(msg('sync', i % 256, 'normal', 1000))),
      ...Array.from({ length: 10 }, (_, i) => c.send(msg('chat', i, 'normal', 1000))),
    ].map(handled);
    // A's first 10 messages took the 10 kB burst before B and C had queued anything
    expect(sentBytes).toEqual({ A: 10_000, B: 0, C: 0 });
    for (let s = 0; s < 10; s++) await clock.advanceAsync(1000);
    // then 10 kB/s for 10 s, in equal turns: C's 10 messages went within the first rounds
    const a10 = sentBytes.A - 10_000;
    expect(sentBytes.C).toBe(10_000);
    expect(Math.abs(a10 - sentBytes.B)).toBeLessThanOrEqual(1000);
    expect(a10 + sentBytes.B + sentBytes.C).toBeGreaterThanOrEqual(99_000);
    expect(a10 + sentBytes.B + sentBytes.C).toBeLessThanOrEqual(101_000);
    await scheduler.stop();
    await Promise.allSettled(all);
  });

  it('inbound: a flooding peer is cut to its quota and penalised; others are untouched', () => {
    clock = createManualClock();
    scheduler = createScheduler({ clock });
    const penalties: string[] = [];
    const reporter: PeerReporter = {
      penalize: (peer, reason) => void penalties.push(`${peer.toString()}:${reason}`),
      reward: () => {},
    };
    const inbound = createInboundLimiter({ clock, peerReporter: reporter });
    const [a, b] = [fakePeer('A'), fakePeer('B')];
    let acceptedA = 0;
    let acceptedB = 0;
    for (let ms = 0; ms < 3000; ms += 10) {
      for (let i = 0; i < 100; i++) if (inbound.accept(a, 'chat', 100)) acceptedA++; // 10,000/s
      if (inbound.accept(b, 'chat', 100)) acceptedB++; // 100/s
      clock.advance(10);
    }
    expect(acceptedB).toBe(300);
    // the 1,000-message burst, then 1,000 msg/s for the remaining time
    expect(acceptedA).toBeGreaterThanOrEqual(3000);
    expect(acceptedA).toBeLessThanOrEqual(4000);
    expect(penalties.every((p) => p === 'A:rate-limit')).toBe(true);
    expect(penalties.length).toBeGreaterThanOrEqual(2);
    expect(penalties.length).toBeLessThanOrEqual(3); // at most one per second
    expect(inbound.peerStats(b)).toEqual({ accepted: 300, dropped: 0 });
  });
});
