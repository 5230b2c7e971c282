import { afterEach, describe, expect, it } from '@jest/globals';
import type { Stream } from '@detr/interface';
import { readAll, registry } from '../support/fakes.js';
import { muxPair, type MuxPair } from '../support/mux-pair.js';

let pair: MuxPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

function holdInbound(): { reg: ReturnType<typeof registry>; next: () => Promise<Stream> } {
  const waiting: Array<(s: Stream) => void> = [];
  const ready: Stream[] = [];
  const reg = registry({
    '/hold/1': (s) => {
      const w = waiting.shift();
      if (w !== undefined) w(s);
      else ready.push(s);
    },
  });
  return {
    reg,
    next: () =>
      ready.length > 0
        ? Promise.resolve(ready.shift()!)
        : new Promise<Stream>((resolve) => waiting.push(resolve)),
  };
}

describe('mux flow control', () => {
  it('a reader that does not read holds at most its window; the writer waits', async () => {
    const window = 128 * 1024;
    const hold = holdInbound();
    pair = muxPair({ listener: { streamWindowBytes: window }, listenerRegistry: hold.reg });
    const s = await pair.dialer.newStream('/hold/1');
    const chunk = Buffer.alloc(16 * 1024, 1);
    let written = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop && written < 4 * 1024 * 1024) {
        written += chunk.length;
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      }
    })();
    const inbound = await hold.next();
    inbound.pause();
    await tick(100);
    // Unread data at the receiver never exceeds the window.
    expect(inbound.readableLength).toBeLessThanOrEqual(window);
    expect(inbound.readableLength).toBeGreaterThan(0);
    // The writer is blocked: it wrote at most window + its own buffers.
    const blockedAt = written;
    await tick(100);
    expect(written).toBe(blockedAt);
    expect(written).toBeLessThan(window + 256 * 1024);
    // Reading frees credit and the writer continues.
    let got = 0;
    inbound.on('data', (c: Buffer) => (got += c.length));
    inbound.resume();
    await tick(100);
    expect(written).toBeGreaterThan(blockedAt);
    stop = true;
    await writer;
    s.end();
    await new Promise((r) => inbound.once('end', r));
    expect(got).toBe(written);
  });

  it('a window grows while its reader keeps up, up to its limits, and bounds what a paused reader holds', async () => {
    const hold = holdInbound();
    pair = muxPair({
      listener: { streamWindowBytes: 128 * 1024, maxStreamWindowBytes: 1024 * 1024 },
      listenerRegistry: hold.reg,
    });
    const s = await pair.dialer.newStream('/hold/1');
    const chunk = Buffer.alloc(64 * 1024, 5);
    s.write(chunk);
    const inbound = await hold.next();
    inbound.resume();
    for (let i = 0; i < 200; i++) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
    await tick(50);
    const state = pair.listener.open.get(inbound.id)!;
    expect(state.window).toBe(1024 * 1024);
    // Now the reader stops: it never holds more than the window it reached.
    inbound.pause();
    for (let i = 0; i < 64; i++) s.write(chunk);
    await tick(150);
    expect(inbound.readableLength).toBeGreaterThan(128 * 1024);
    expect(inbound.readableLength).toBeLessThanOrEqual(1024 * 1024);
  });

  it('window growth stays within the connection budget', async () => {
    const hold = holdInbound();
    pair = muxPair({
      listener: { maxConnectionWindowBytes: 0 },
      listenerRegistry: hold.reg,
    });
    const s = await pair.dialer.newStream('/hold/1');
    const chunk = Buffer.alloc(64 * 1024, 5);
    s.write(chunk);
    const inbound = await hold.next();
    inbound.resume();
    for (let i = 0; i < 100; i++) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
    await tick(50);
    expect(pair.listener.open.get(inbound.id)!.window).toBe(256 * 1024);
  });

  it('a slow stream does not slow another stream of the same connection', async () => {
    const hold = holdInbound();
    hold.reg.set('/echo/1', (s) => void s.pipe(s));
    pair = muxPair({ listenerRegistry: hold.reg });
    const slow = await pair.dialer.newStream('/hold/1');
    const big = Buffer.alloc(64 * 1024, 2);
    for (let i = 0; i < 40; i++) slow.write(big); // far more than the window
    const stalled = await hold.next();
    stalled.pause();
    await tick(50);
    const fast = await pair.dialer.newStream('/echo/1');
    fast.end(Buffer.alloc(200_000, 3));
    const back = await readAll(fast);
    expect(back.length).toBe(200_000);
    expect(stalled.readableLength).toBeLessThanOrEqual(256 * 1024);
  });

  it('writers waiting on a full send queue resume when the pipe drains (regression)', async () => {
    pair = muxPair({
      dialer: { sendBufferBytes: 16 * 1024, streamWindowBytes: 4 * 1024 * 1024 },
      listener: { streamWindowBytes: 4 * 1024 * 1024 },
      highWaterMark: 64 * 1024,
      listenerRegistry: registry({ '/sink/1': (s) => void s.resume() }),
    });
    const s = await pair.dialer.newStream('/sink/1');
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 256; i++) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
    await new Promise<void>((resolve) => s.end(resolve));
  });

  it('moves 8 MiB through one stream intact', async () => {
    pair = muxPair({ listenerRegistry: registry({ '/echo/1': (s) => void s.pipe(s) }) });
    const s = await pair.dialer.newStream('/echo/1');
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const back = readAll(s);
    for (let o = 0; o < data.length; o += 64 * 1024) {
      if (!s.write(data.subarray(o, o + 64 * 1024))) await new Promise((r) => s.once('drain', r));
    }
    s.end();
    expect((await back).equals(data)).toBe(true);
  });

  it('coalesces the small writes of one tick into one message and one pipe write', async () => {
    const hold = holdInbound();
    pair = muxPair({ listenerRegistry: hold.reg });
    const s = await pair.dialer.newStream('/hold/1');
    s.write('open');
    const inbound = await hold.next();
    await tick(10);
    const before = { ...pair.dialer.counters };
    for (let i = 0; i < 100; i++) s.write(Buffer.alloc(100, i));
    await tick(10);
    expect(pair.dialer.counters.pipeWrites - before.pipeWrites).toBe(1);
    expect(pair.dialer.counters.messagesSent - before.messagesSent).toBe(1);
    expect(pair.dialer.counters.framesSent - before.framesSent).toBe(100);
    expect(inbound.readableLength).toBe(4 + 100 * 100);
    // and one 100-byte message is one frame in one message
    const b2 = { ...pair.dialer.counters };
    s.write(Buffer.alloc(100));
    await tick(10);
    expect(pair.dialer.counters.messagesSent - b2.messagesSent).toBe(1);
    expect(pair.dialer.counters.pipeWrites - b2.pipeWrites).toBe(1);
  });

  it('64 KiB writes fill whole messages: data is split where a message is full', async () => {
    const hold = holdInbound();
    pair = muxPair({ listener: { streamWindowBytes: 1024 * 1024 }, listenerRegistry: hold.reg });
    const s = await pair.dialer.newStream('/hold/1');
    s.write('x');
    const inbound = await hold.next();
    await readAllOf(inbound, 1);
    await tick(10); // the listener's window update is in: the whole write is within credit
    const before = { ...pair.dialer.counters };
    const data = Buffer.alloc(4 * 65536);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i * 7, i);
    const back = readAllOf(inbound, data.length);
    for (let o = 0; o < data.length; o += 65536) s.write(data.subarray(o, o + 65536));
    expect((await back).equals(data)).toBe(true);
    // 262,144 bytes in messages of up to 65,519: 5 of them (each 64 KiB write alone would be 2).
    expect(pair.dialer.counters.messagesSent - before.messagesSent).toBe(5);
  });
  it('a writer may reuse its buffer once its write callback ran (the data is sealed by then)', async () => {
    const hold = holdInbound();
    pair = muxPair({ listenerRegistry: hold.reg });
    const s = await pair.dialer.newStream('/hold/1');
    s.write('x');
    const inbound = await hold.next();
    await readAllOf(inbound, 1);
    const buf = Buffer.alloc(1000, 0xaa);
    const back = readAllOf(inbound, 3 * 1000);
    // Written from a macrotask: Node runs the write callback (a nextTick) before any microtask.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        let left = 3;
        const next = (): void => {
          s.write(buf, () => {
            buf.fill(0x55); // reused at once, as Node's contract allows
            if (--left > 0) {
              buf.fill(0xaa);
              next();
            } else resolve();
          });
        };
        next();
      }),
    );
    const got = await back;
    expect(got.every((b) => b === 0xaa)).toBe(true);
  });
});

/** Reads exactly `n` bytes that `s` delivers from now on. */
function readAllOf(s: Stream, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', onData);
  });
}
