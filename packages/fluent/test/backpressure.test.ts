// Backpressure: a slow sink is never over-fed, a full queue pushes back on callers through their
// promises (cancellable), and the drop-oldest / reject policies do what they say.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { AbortError, ClosedError, createManualClock, type ManualClock } from '@detr/interface';
import {
  MessageDroppedError,
  QueueFullError,
  createScheduler,
  streamSink,
  type Scheduler,
  type SchedulerInit,
} from '../src/index.js';
import { fakePeer, flush, handled, msg, outcome, slowSink } from './helpers.js';

const ALL_SHARE_1 = { critical: 1, high: 1, normal: 1, low: 1, bulk: 1 };

describe('backpressure', () => {
  let clock: ManualClock;
  let scheduler: Scheduler;
  const make = async (init: SchedulerInit): Promise<Scheduler> => {
    clock = createManualClock();
    scheduler = createScheduler({ clock }, { peerLimit: {}, admitShare: ALL_SHARE_1, ...init });
    await scheduler.start();
    return scheduler;
  };
  afterEach(async () => {
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('never has more than maxInFlightPerPeer sink calls pending', async () => {
    await make({ maxInFlightPerPeer: 3 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const all = Array.from({ length: 200 }, (_, i) => q.send(msg('c', i % 256)));
    let maxPending = 0;
    for (let i = 0; i < 200; i++) {
      await flush();
      maxPending = Math.max(maxPending, slow.pending());
      expect(q.stats().inFlight).toBe(slow.pending());
      slow.release();
    }
    await Promise.all(all);
    expect(maxPending).toBe(3);
    expect(slow.calls.map((m) => m.data[0])).toEqual(all.map((_, i) => i % 256)); // FIFO
  });

  it('keeps each peer’s sink calls in send order with several in flight and callers waiting', async () => {
    await make({ maxInFlightPerPeer: 3, maxMessages: 5 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const all = Array.from({ length: 60 }, (_, i) => q.send(msg('c', i)));
    for (let released = 0, round = 0; released < 60; round++) {
      await flush();
      expect(slow.pending()).toBeLessThanOrEqual(3);
      // sometimes every pending write completes at once
      const n = round % 3 === 0 ? slow.pending() : Math.min(1, slow.pending());
      slow.release(n);
      released += n;
    }
    await Promise.all(all);
    expect(slow.calls.map((m) => m.data[0])).toEqual([...Array(60).keys()]);
  });

  it('writes to a real stream only as fast as it drains (no over-buffering)', async () => {
    await make({ maxInFlightPerPeer: 1 });
    let buffered = 0;
    let maxBuffered = 0;
    const pendingWrites: Array<() => void> = [];
    const stream = new Writable({
      highWaterMark: 4096,
      write(_chunk: Buffer, _enc, callback) {
        pendingWrites.push(callback); // the "network" takes a chunk only when the test says so
      },
    });
    const q = scheduler.open(fakePeer('A'), streamSink(stream));
    const all = Array.from({ length: 100 }, (_, i) => q.send(msg('c', i, 'normal', 1000)));
    for (let i = 0; i < 100; i++) {
      await flush();
      buffered = stream.writableLength;
      maxBuffered = Math.max(maxBuffered, buffered);
      pendingWrites.shift()?.();
    }
    while (pendingWrites.length > 0) {
      pendingWrites.shift()?.();
      await flush();
    }
    await Promise.all(all);
    // 4 KiB high-water mark: the stream is written until write() returns false, then left alone
    expect(maxBuffered).toBeLessThanOrEqual(4096 + 1000);
    expect(q.stats().sent).toBe(100);
    stream.destroy();
    await expect(q.send(msg('c', 1))).rejects.toBeInstanceOf(ClosedError);
  });

  it("a full queue makes 'wait' callers wait, then admits them in order as room frees", async () => {
    await make({ maxMessages: 10 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const first = Array.from({ length: 11 }, (_, i) => q.send(msg('c', i))); // 1 in flight + 10
    await flush();
    expect(q.stats()).toMatchObject({ depth: 10, inFlight: 1, waiting: 0 });
    const later = [outcome(q.send(msg('c', 11))), outcome(q.send(msg('c', 12)))];
    expect(q.stats()).toMatchObject({ depth: 10, waiting: 2 });
    expect(later.map((o) => o.state())).toEqual(['pending', 'pending']);
    slow.release();
    await flush();
    expect(q.stats()).toMatchObject({ depth: 10, waiting: 1 });
    for (let i = 0; i < 13; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(first);
    expect(later.map((o) => o.state())).toEqual(['sent', 'sent']);
    expect(slow.calls.map((m) => m.data[0])).toEqual([...Array(13).keys()]);
  });

  it('a waiting or queued send is cancelled by its AbortSignal and never reaches the sink', async () => {
    await make({ maxMessages: 2 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = [q.send(msg('c', 0)), q.send(msg('c', 1))];
    const queuedCtl = new AbortController();
    const queued = outcome(q.send(msg('c', 2), { signal: queuedCtl.signal }));
    const waitCtl = new AbortController();
    const waiting = q.send(msg('c', 3), { signal: waitCtl.signal });
    const after = q.send(msg('c', 4));
    await flush();
    expect(q.stats()).toMatchObject({ depth: 2, waiting: 2 });
    waitCtl.abort(new Error('changed my mind'));
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error('changed my mind'));
    queuedCtl.abort();
    await flush();
    expect(queued.state()).toBe('AbortError');
    expect(q.stats()).toMatchObject({ depth: 2, waiting: 0, cancelled: 2 }); // 4 was admitted
    for (let i = 0; i < 3; i++) {
      slow.release();
      await flush();
    }
    await Promise.all([...sends, after]);
    expect(slow.calls.map((m) => m.data[0])).toEqual([0, 1, 4]);
    const already = new AbortController();
    already.abort();
    await expect(q.send(msg('c', 5), { signal: already.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
  });

  it("'reject' fails at once with QueueFullError; 'wait' does once maxWaiting callers wait", async () => {
    await make({ maxMessages: 2, maxWaiting: 1, policy: { high: 'reject' } });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const ok = [0, 1, 2].map((i) => handled(q.send(msg('c', i))));
    const err = await q.send(msg('c', 9, 'high')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).code).toBe('QUEUE_FULL');
    const waiter = handled(q.send(msg('c', 3)));
    await expect(q.send(msg('c', 4))).rejects.toBeInstanceOf(QueueFullError);
    expect(q.stats()).toMatchObject({ rejected: 2, waiting: 1 });
    expect(scheduler.stats().priorities.high.rejected).toBe(1);
    for (let i = 0; i < 4; i++) {
      slow.release();
      await flush();
    }
    await Promise.all([...ok, waiter]);
  });

  it("'wait' refuses once the waiting callers hold maxWaitingBytes", async () => {
    await make({ maxMessages: 1, maxWaitingBytes: 1000 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const ok = [0, 1].map((i) => handled(q.send(msg('c', i, 'normal', 10)))); // sink + queue
    const waiters = [2, 3].map((i) => handled(q.send(msg('c', i, 'normal', 500))));
    await expect(q.send(msg('c', 4, 'normal', 1))).rejects.toBeInstanceOf(QueueFullError);
    expect(q.stats()).toMatchObject({ waiting: 2, rejected: 1 });
    for (let i = 0; i < 4; i++) {
      slow.release();
      await flush();
    }
    await Promise.all([...ok, ...waiters]);
  });

  it("'drop-oldest' evicts the oldest queued messages of the same priority", async () => {
    await make({ maxMessages: 3, policy: { low: 'drop-oldest' } });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const inPipe = q.send(msg('presence', 0, 'low'));
    const lows = [1, 2, 3].map((i) => outcome(q.send(msg('presence', i, 'low'))));
    const normal = q.send(msg('chat', 50)); // queue is full: normal waits (it never evicts)
    // a newer low replaces the oldest low, without taking the room the waiting normal needs
    const newer = [4, 5].map((i) => outcome(q.send(msg('presence', i, 'low'))));
    await flush();
    expect(lows.map((o) => o.state())).toEqual([
      'MessageDroppedError',
      'MessageDroppedError',
      'pending',
    ]);
    expect(q.stats()).toMatchObject({ depth: 3, waiting: 1, dropped: 2 });
    for (let i = 0; i < 5; i++) {
      slow.release();
      await flush();
    }
    await Promise.all([inPipe, normal]);
    expect(newer.map((o) => o.state())).toEqual(['sent', 'sent']);
    // 3 left the queue first, which let the normal message in: it then outranked the lows
    expect(slow.calls.map((m) => m.data[0])).toEqual([0, 3, 50, 4, 5]);
    expect(new MessageDroppedError().code).toBe('MESSAGE_DROPPED');
  });

  it("'drop-oldest' refuses (drops nothing) when its own priority cannot make room", async () => {
    await make({ maxMessages: 2, policy: { low: 'drop-oldest' } });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const normals = [0, 1, 2].map((i) => handled(q.send(msg('c', i))));
    await expect(q.send(msg('p', 9, 'low'))).rejects.toBeInstanceOf(QueueFullError);
    expect(q.stats()).toMatchObject({ depth: 2, dropped: 0, rejected: 1 });
    for (let i = 0; i < 3; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(normals);
  });

  it('the byte cap pushes back like the message cap', async () => {
    await make({ maxBytes: 1000 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = [0, 1, 2, 3].map((i) => q.send(msg('c', i, 'normal', 400)));
    await flush();
    expect(q.stats()).toMatchObject({ depth: 2, bytes: 800, inFlight: 1, waiting: 1 });
    for (let i = 0; i < 4; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(sends);
  });

  it('a more urgent waiter is admitted before a less urgent one', async () => {
    await make({ maxMessages: 1 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = [q.send(msg('c', 0)), q.send(msg('c', 1))];
    sends.push(q.send(msg('c', 2, 'bulk')), q.send(msg('c', 3, 'critical')));
    for (let i = 0; i < 4; i++) {
      await flush();
      slow.release();
    }
    await Promise.all(sends);
    expect(slow.calls.map((m) => m.data[0])).toEqual([0, 1, 3, 2]);
  });

  it('drain() waits for everything; close() fails what is queued or waiting', async () => {
    await make({ maxMessages: 1 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = [0, 1].map((i) => q.send(msg('c', i)));
    const drained = outcome(q.drain());
    await flush();
    slow.release();
    await flush();
    expect(drained.state()).toBe('pending');
    slow.release();
    await flush();
    expect(drained.state()).toBe('sent');
    await Promise.all(sends);

    const more = [2, 3, 4].map((i) => outcome(q.send(msg('c', i))));
    const drain2 = outcome(q.drain());
    const ctl = new AbortController();
    const drain3 = outcome(q.drain({ signal: ctl.signal }));
    ctl.abort();
    await flush();
    expect(drain3.state()).toBe('AbortError');
    q.close(new Error('connection lost'));
    q.close(); // idempotent
    await flush();
    expect(more.map((o) => o.state())).toEqual(['pending', 'ClosedError', 'ClosedError']);
    expect(drain2.state()).toBe('ClosedError');
    await expect(q.drain()).rejects.toBeInstanceOf(ClosedError);
    slow.release();
    await flush();
    expect(more[0]?.state()).toBe('sent'); // it was already in the sink
  });
});
