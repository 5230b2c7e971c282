import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ClosedError, NotStartedError, createManualClock, type ManualClock } from '@detr/interface';
import {
  PRIORITIES,
  SinkError,
  createScheduler,
  packageInfo,
  type Scheduler,
} from '../src/index.js';
import { fakePeer, flush, msg, outcome, recordingSink, slowSink } from './helpers.js';

describe('scheduler basics', () => {
  let clock: ManualClock;
  let scheduler: Scheduler;

  beforeEach(async () => {
    clock = createManualClock();
    scheduler = createScheduler({ clock }, { peerLimit: {} });
    await scheduler.start();
  });
  afterEach(async () => {
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/fluent', layer: 'core' });
  });

  it('hands a message to the sink and resolves once the sink took it', async () => {
    const { sink, calls, release } = slowSink();
    const q = scheduler.open(fakePeer('alice'), sink);
    const sent = outcome(q.send(msg('chat', 1)));
    await flush();
    expect(calls).toHaveLength(1);
    expect(sent.state()).toBe('pending');
    release();
    await flush();
    expect(sent.state()).toBe('sent');
    expect(q.stats()).toMatchObject({ sent: 1, depth: 0, inFlight: 0 });
  });

  it('sends the most urgent queued message first (strict priority)', async () => {
    const log: string[] = [];
    const slow = slowSink();
    const q = scheduler.open(fakePeer('alice'), (m) => {
      log.push(`${m.priority ?? 'normal'}`);
      return slow.sink(m);
    });
    const all = [q.send(msg('c', 0, 'bulk'))]; // goes at once: nothing else queued
    for (const p of [...PRIORITIES].reverse()) all.push(q.send(msg('c', 1, p)));
    await flush();
    for (let i = 0; i < 6; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(all);
    expect(log).toEqual(['bulk', 'critical', 'high', 'normal', 'low', 'bulk']);
  });

  it('takes turns between the channels of one peer within a priority', async () => {
    const log: string[] = [];
    const slow = slowSink();
    const q = scheduler.open(fakePeer('alice'), (m) => {
      log.push(`${m.channel}${m.data[0]}`);
      return slow.sink(m);
    });
    const all = [];
    for (let i = 0; i < 4; i++) all.push(q.send(msg('sync', i)));
    for (let i = 0; i < 2; i++) all.push(q.send(msg('chat', i)));
    for (let i = 0; i < 6; i++) {
      await flush();
      slow.release();
    }
    await Promise.all(all);
    expect(log).toEqual(['sync0', 'sync1', 'chat0', 'sync2', 'chat1', 'sync3']);
  });

  it('passes a sink Error through and wraps anything else in SinkError', async () => {
    let n = 0;
    const q = scheduler.open(fakePeer('alice'), () => {
      n++;
      if (n === 1) throw new Error('boom');
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (n === 2) return Promise.reject('not an error');
      return undefined;
    });
    await expect(q.send(msg('c', 1))).rejects.toThrow('boom');
    const err = await q.send(msg('c', 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('SINK_FAILED');
    expect((err as SinkError).cause).toBe('not an error');
    await q.send(msg('c', 3));
    expect(q.stats()).toMatchObject({ sent: 3, failed: 2 });
  });

  it('rejects malformed messages with TypeError/RangeError', async () => {
    const q = scheduler.open(fakePeer('alice'), () => {});
    await expect(q.send({ channel: 1, data: new Uint8Array(1) } as any)).rejects.toThrow(TypeError);
    await expect(q.send({ channel: 'c', data: 'text' } as any)).rejects.toThrow(TypeError);
    await expect(q.send(msg('c', 1, 'urgent' as any))).rejects.toThrow(TypeError);
    await expect(q.send(null as any)).rejects.toThrow(TypeError);
    const small = createScheduler({ clock }, { maxBytes: 1000 });
    await small.start();
    const sq = small.open(fakePeer('bob'), () => {});
    await expect(sq.send(msg('c', 1, 'bulk', 501))).rejects.toThrow(RangeError); // bulk share 0.5
    await sq.send(msg('c', 1, 'critical', 1000));
    await small.stop();
  });

  it('validates its options', () => {
    expect(() => createScheduler({ clock }, { maxMessages: 0 })).toThrow(RangeError);
    expect(() => createScheduler({ clock }, { admitShare: { bulk: 1.5 } })).toThrow(RangeError);
    expect(() => createScheduler({ clock }, { policy: { low: 'maybe' as any } })).toThrow(
      RangeError,
    );
    expect(() => createScheduler({ clock }, { peerLimit: { messagesPerSec: -1 } })).toThrow(
      RangeError,
    );
    expect(() => createScheduler({ clock }, { congestionLowWater: 0.9 })).toThrow(RangeError);
  });

  it('refuses to send before start() and after stop(); stop() closes every queue', async () => {
    const idle = createScheduler({ clock });
    const q0 = idle.open(fakePeer('alice'), () => {});
    await expect(q0.send(msg('c', 1))).rejects.toBeInstanceOf(NotStartedError);

    const { sink } = slowSink();
    const q = scheduler.open(fakePeer('alice'), sink);
    const first = outcome(q.send(msg('c', 1)));
    const second = outcome(q.send(msg('c', 2)));
    await flush();
    await scheduler.stop();
    await flush();
    expect(first.state()).toBe('pending'); // in the sink: its fate is the sink's
    expect(second.state()).toBe('ClosedError');
    expect(q.closed).toBe(true);
    await expect(q.send(msg('c', 3))).rejects.toBeInstanceOf(ClosedError);
    await scheduler.stop(); // idempotent
  });

  it('keeps one queue per peer; re-opening points it at the new sink', async () => {
    const log: string[] = [];
    const peer = fakePeer('alice');
    const q1 = scheduler.open(peer, recordingSink(log, 'conn1'));
    await q1.send(msg('c', 1));
    const q2 = scheduler.open(peer, recordingSink(log, 'conn2'));
    expect(q2).toBe(q1);
    expect(scheduler.get(peer)).toBe(q1);
    expect(scheduler.queues()).toEqual([q1]);
    await q2.send(msg('c', 2));
    expect(log).toEqual(['conn1:c:normal:1', 'conn2:c:normal:2']);
    q1.close();
    expect(scheduler.get(peer)).toBeUndefined();
    expect(scheduler.open(peer, () => {})).not.toBe(q1);
  });
});
