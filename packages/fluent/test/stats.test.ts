import { afterEach, describe, expect, it } from '@jest/globals';
import { createManualClock, type ManualClock } from '@detr/interface';
import {
  createScheduler,
  type CongestionEvent,
  type Scheduler,
  type SchedulerInit,
} from '../src/index.js';
import { fakePeer, flush, handled, msg, slowSink } from './helpers.js';

describe('stats and congestion', () => {
  let clock: ManualClock;
  let scheduler: Scheduler;
  const make = async (init: SchedulerInit): Promise<Scheduler> => {
    clock = createManualClock();
    scheduler = createScheduler({ clock }, { peerLimit: {}, ...init });
    await scheduler.start();
    return scheduler;
  };
  afterEach(async () => {
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('counts depth, bytes and wait percentiles per peer, channel and priority', async () => {
    await make({});
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = [
      ...Array.from({ length: 100 }, (_, i) => q.send(msg('sync', i, 'bulk', 10))),
      q.send(msg('chat', 1, 'high', 100)),
    ];
    await flush();
    let s = q.stats();
    expect(s).toMatchObject({ depth: 100, bytes: 990 + 100, inFlight: 1, sent: 1 });
    expect(s.priorities.bulk).toEqual({ depth: 99, bytes: 990 });
    expect(s.priorities.high).toEqual({ depth: 1, bytes: 100 });
    // one message leaves per ms: the n-th waited n ms
    for (let i = 0; i < 101; i++) {
      clock.advance(1);
      slow.release();
      await flush();
    }
    await Promise.all(sends);
    s = q.stats();
    expect(s).toMatchObject({ depth: 0, bytes: 0, sent: 101, sentBytes: 1100, dropped: 0 });
    expect(s.waitP50Ms).toBe(50);
    expect(s.waitP99Ms).toBe(100);
    const all = scheduler.stats();
    expect(all.peers).toBe(1);
    expect(all.total).toMatchObject({ sent: 101, depth: 0 });
    expect(all.priorities.high).toMatchObject({ sent: 1, sentBytes: 100, waitP99Ms: 1 });
    expect(all.priorities.bulk).toMatchObject({ sent: 100, sentBytes: 1000 });
    expect(all.channels.sync).toMatchObject({ sent: 100 });
    expect(all.channels.chat).toMatchObject({ sent: 1 });
  });

  it('caps per-channel stats: names beyond maxChannels are counted under *', async () => {
    await make({ maxChannels: 3 });
    const q = scheduler.open(fakePeer('A'), () => {});
    for (const c of ['a', 'b', 'c', 'd', 'e']) await q.send(msg(c, 1));
    expect(Object.keys(scheduler.stats().channels).sort()).toEqual(['*', 'a', 'b']);
    expect(scheduler.stats().channels['*']?.sent).toBe(3);
  });

  it('forgets idle channel states past maxChannelsPerPeer and refuses when all are busy', async () => {
    await make({ maxChannelsPerPeer: 2, maxMessages: 100 });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    for (let i = 0; i < 10; i++) {
      const p = q.send(msg(`c${i}`, i));
      await flush();
      slow.release();
      await p;
    }
    // x goes to the sink (in flight, not queued: its state may go); y and w stay queued
    const busy = ['x', 'y', 'w'].map((c, i) => handled(q.send(msg(c, i))));
    await flush();
    await expect(q.send(msg('z', 3))).rejects.toThrow(RangeError);
    for (let i = 0; i < 3; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(busy);
  });

  it('emits congestion:start after congestionMs above the high-water mark, and congestion:end', async () => {
    await make({ maxMessages: 10, congestionMs: 1000 });
    const events: string[] = [];
    const seen: CongestionEvent[] = [];
    scheduler.on('congestion:start', (e) => {
      events.push('start');
      seen.push(e);
    });
    scheduler.on('congestion:end', (e) => {
      events.push('end');
      seen.push(e);
    });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = Array.from({ length: 9 }, (_, i) => q.send(msg('c', i))); // 1 in flight, 8 queued
    await flush();
    clock.advance(999);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(['start']);
    expect(seen[0]).toMatchObject({ depth: 8, durationMs: 1000 });
    expect(q.stats().congested).toBe(true);
    expect(scheduler.stats().congestedPeers).toBe(1);
    for (let i = 0; i < 2; i++) {
      slow.release();
      await flush();
    }
    expect(events).toEqual(['start']); // 6 queued: above the low-water mark (5)
    clock.advance(500);
    slow.release();
    await flush();
    expect(events).toEqual(['start', 'end']);
    expect(seen[1]).toMatchObject({ depth: 5, durationMs: 500 });
    expect(scheduler.stats().congestedPeers).toBe(0);
    for (let i = 0; i < 6; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(sends);
  });

  it('a brief burst above the high-water mark raises no event; a throwing listener is contained', async () => {
    await make({ maxMessages: 10, congestionMs: 1000 });
    scheduler.on('congestion:start', () => {
      throw new Error('listener bug');
    });
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const burst = Array.from({ length: 9 }, (_, i) => q.send(msg('c', i)));
    await flush();
    clock.advance(500);
    for (let i = 0; i < 9; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(burst);
    clock.advance(5000);
    expect(q.stats().congested).toBe(false);
    // sustained this time: the listener throws, the scheduler carries on
    const again = Array.from({ length: 9 }, (_, i) => q.send(msg('c', i)));
    await flush();
    clock.advance(1000);
    expect(q.stats().congested).toBe(true);
    for (let i = 0; i < 9; i++) {
      slow.release();
      await flush();
    }
    await Promise.all(again);
    expect(q.stats().congested).toBe(false);
  });

  it('closing a congested queue ends its congestion', async () => {
    await make({ maxMessages: 10, congestionMs: 10 });
    const ends: CongestionEvent[] = [];
    scheduler.on('congestion:end', (e) => ends.push(e));
    const slow = slowSink();
    const q = scheduler.open(fakePeer('A'), slow.sink);
    const sends = Array.from({ length: 9 }, (_, i) => handled(q.send(msg('c', i))));
    clock.advance(10);
    expect(q.stats().congested).toBe(true);
    q.close();
    expect(ends).toHaveLength(1);
    slow.release();
    await Promise.allSettled(sends);
  });
});

describe('scheduler quotas', () => {
  it('holds a peer to its message rate, with the default burst of one second', async () => {
    const clock = createManualClock();
    const scheduler = createScheduler({ clock }); // default: 1,000 msg/s per peer
    await scheduler.start();
    let sent = 0;
    const q = scheduler.open(fakePeer('A'), () => void sent++);
    const all = Array.from({ length: 2500 }, (_, i) => q.send(msg('c', i % 256)));
    await flush();
    expect(sent).toBe(1000);
    await clock.advanceAsync(500);
    expect(sent).toBe(1500);
    await clock.advanceAsync(1000);
    expect(sent).toBe(2500);
    await Promise.all(all);
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('holds a channel to its byte rate', async () => {
    const clock = createManualClock();
    const scheduler = createScheduler(
      { clock },
      { peerLimit: {}, defaultChannelLimit: { bytesPerSec: 1000 } },
    );
    await scheduler.start();
    let sentBytes = 0;
    const q = scheduler.open(fakePeer('A'), (m) => void (sentBytes += m.data.byteLength));
    const all = Array.from({ length: 20 }, (_, i) => q.send(msg('c', i, 'normal', 250)));
    await flush();
    expect(sentBytes).toBe(1000);
    for (let i = 0; i < 4; i++) await clock.advanceAsync(1000);
    expect(sentBytes).toBe(5000);
    await Promise.all(all);
    await scheduler.stop();
  });
});
