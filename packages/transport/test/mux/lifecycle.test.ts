import { afterEach, describe, expect, it } from '@jest/globals';
import type { Stream } from '@detr/interface';
import { ClosedError, TimeoutError, createManualClock } from '@detr/interface';
import { readAll, registry } from '../support/fakes.js';
import { muxPair, type MuxPair } from '../support/mux-pair.js';

let pair: MuxPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const closeOf = (c: { onClose(l: (e?: Error) => void): void }): Promise<Error | undefined> =>
  new Promise((resolve) => c.onClose(resolve));

describe('mux lifecycle', () => {
  it('a dialer sends nothing until the listener accepted, then answers in one write with its first stream', async () => {
    pair = muxPair({ listenerRegistry: registry({ '/sink/1': (s) => void s.resume() }) });
    await pair.dialer.ready();
    const s = await pair.dialer.newStream('/sink/1');
    s.write('first bytes');
    await tick(20);
    // One write: the pong to the listener's first ping, its own first ping, the open, the data.
    expect(pair.dialer.counters.pipeWrites).toBe(1);
    expect(pair.dialer.counters.framesSent).toBe(4);
    for (let i = 0; i < 100 && pair.dialer.stats().rttMs === undefined; i++) await tick(5);
    expect(pair.dialer.stats().rttMs).toBeGreaterThan(0);
  });

  it('measures the round trip with keepalive pings', async () => {
    pair = muxPair({ dialer: { keepaliveIntervalMs: 20 }, listener: { keepaliveIntervalMs: 20 } });
    for (let i = 0; i < 100 && pair.dialer.stats().rttMs === undefined; i++) await tick(5);
    expect(pair.dialer.stats().rttMs).toBeGreaterThan(0);
    expect(pair.listener.stats().rttMs).toBeGreaterThan(0);
  });

  it('aborts with a TimeoutError when pings go unanswered', async () => {
    const clock = createManualClock();
    pair = muxPair({ clock, dialer: { keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 } });
    const closed = closeOf(pair.dialer);
    // the listener stops answering: its pipe swallows everything
    pair.listenerPipe.write = () => true;
    pair.listener.abort = () => {};
    await tick(5);
    // A dialer that heard nothing from the listener pings after one keepalive interval.
    clock.advance(1000);
    await tick(5);
    clock.advance(3001);
    const err = await closed;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(pair.dialerReporter.penalties.map((p) => p.reason)).toEqual(['timeout']);
  });

  it('closes an idle connection, and a stream keeps it open', async () => {
    const clock = createManualClock();
    let held: Stream | undefined;
    pair = muxPair({
      clock,
      dialer: { idleTimeoutMs: 1000 },
      listener: { idleTimeoutMs: 0 },
      listenerRegistry: registry({ '/hold/1': (s) => void (held = s) }),
    });
    const s = await pair.dialer.newStream('/hold/1');
    s.write('x');
    await tick(5);
    clock.advance(5000);
    expect(pair.dialer.status).toBe('open');
    s.end();
    s.resume();
    held!.end();
    held!.resume();
    await tick(5);
    expect(pair.dialer.streams()).toHaveLength(0);
    const dialerClosed = closeOf(pair.dialer);
    const listenerClosed = closeOf(pair.listener);
    clock.advance(999);
    expect(pair.dialer.status).toBe('open');
    clock.advance(1);
    expect(await dialerClosed).toBeUndefined();
    // the remote saw a GoAway and closes cleanly too
    expect(await listenerClosed).toBeUndefined();
    expect(pair.listener.status).toBe('closed');
  });

  it('setIdleTimeout(0) keeps an idle connection open', () => {
    const clock = createManualClock();
    pair = muxPair({ clock, dialer: { idleTimeoutMs: 1000 } });
    pair.dialer.setIdleTimeout(0);
    clock.advance(10_000);
    expect(pair.dialer.status).toBe('open');
    expect(() => pair!.dialer.setIdleTimeout(-1)).toThrow(RangeError);
    pair.dialer.setIdleTimeout(50);
    clock.advance(50);
    expect(pair.dialer.status).not.toBe('open');
  });

  it('close() drains streams in flight before closing', async () => {
    let received: Promise<Buffer> | undefined;
    pair = muxPair({
      listenerRegistry: registry({ '/sink/1': (s) => void (received = readAll(s)) }),
    });
    const s = await pair.dialer.newStream('/sink/1');
    const data = Buffer.alloc(2 * 1024 * 1024, 9);
    s.end(data);
    const closing = pair.dialer.close();
    expect(pair.dialer.status).toBe('closing');
    await expect(pair.dialer.newStream('/sink/1')).rejects.toBeInstanceOf(ClosedError);
    await tick(5);
    expect((await received!).length).toBe(data.length);
    await closing;
    expect(pair.dialer.status).toBe('closed');
  });

  it('close() with an aborted signal stops waiting and closes', async () => {
    pair = muxPair({ listenerRegistry: registry({ '/hold/1': () => {} }) });
    const s = await pair.dialer.newStream('/hold/1');
    s.write('x');
    const ac = new AbortController();
    const closing = pair.dialer.close({ signal: ac.signal });
    await tick(5);
    expect(pair.dialer.status).toBe('closing');
    ac.abort();
    await expect(closing).rejects.toMatchObject({ code: 'ABORTED' });
    expect(pair.dialer.status).toBe('closed');
    expect(s.destroyed).toBe(true);
  });

  it('abort() during in-flight writes errors both ends without hanging', async () => {
    let inbound: Stream | undefined;
    pair = muxPair({ listenerRegistry: registry({ '/sink/1': (s) => void (inbound = s) }) });
    const s = await pair.dialer.newStream('/sink/1');
    const writeErrors: unknown[] = [];
    for (let i = 0; i < 50; i++) s.write(Buffer.alloc(64 * 1024), (e) => e && writeErrors.push(e));
    await tick(5);
    const listenerClosed = closeOf(pair.listener);
    pair.dialer.abort();
    expect(s.destroyed).toBe(true);
    expect(s.errored).toBeInstanceOf(ClosedError);
    expect(await listenerClosed).toBeInstanceOf(ClosedError);
    expect(inbound!.destroyed).toBe(true);
    await tick(5);
    expect(writeErrors.length).toBeGreaterThan(0);
    // onClose after the fact still runs
    expect(await closeOf(pair.dialer)).toBeInstanceOf(ClosedError);
  });
});
