import { afterEach, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import type { Stream } from '@detr/interface';
import {
  ClosedError,
  StreamLimitError,
  StreamRefusedError,
  StreamResetError,
  UnknownProtocolError,
} from '@detr/interface';
import { echo, readAll, registry } from '../support/fakes.js';
import { muxPair, type MuxPair } from '../support/mux-pair.js';

let pair: MuxPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

async function closed(stream: Stream): Promise<void> {
  if (!stream.closed) await once(stream, 'close');
}

function errorOf(stream: Stream): Promise<Error> {
  return new Promise((resolve) => {
    if (stream.errored !== null) resolve(stream.errored);
    else stream.once('error', resolve);
  });
}

describe('mux streams', () => {
  it('echoes on a stream and half-closes', async () => {
    pair = muxPair({ listenerRegistry: registry({ '/echo/1': echo }) });
    const s = await pair.dialer.newStream('/echo/1');
    expect(s.protocol).toBe('/echo/1');
    expect(s.direction).toBe('outbound');
    expect(s.id % 2).toBe(1);
    s.end(Buffer.from('hello'));
    expect((await readAll(s)).toString()).toBe('hello');
    await closed(s);
    expect(pair.dialer.streams()).toHaveLength(0);
    expect(pair.listener.streams()).toHaveLength(0);
    expect(pair.dialer.stats().streamsOpened).toBe(1);
    expect(pair.listener.stats().streamsOpened).toBe(1);
  });

  it('lets the acceptor open streams too, with even ids', async () => {
    pair = muxPair({ dialerRegistry: registry({ '/echo/1': echo }) });
    const s = await pair.listener.newStream('/echo/1');
    expect(s.id % 2).toBe(0);
    s.end('back');
    expect((await readAll(s)).toString()).toBe('back');
  });

  it('runs 100 concurrent streams', async () => {
    pair = muxPair({ listenerRegistry: registry({ '/echo/1': echo }) });
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const s = await pair!.dialer.newStream('/echo/1');
        s.end(Buffer.alloc(1000 + i, i));
        return readAll(s);
      }),
    );
    results.forEach((r, i) => expect(r.equals(Buffer.alloc(1000 + i, i))).toBe(true));
  });

  it('keeps half-open streams: the acceptor writes after the opener ended', async () => {
    pair = muxPair({
      listenerRegistry: registry({
        '/late/1': async (s) => {
          const got = await readAll(s);
          s.end(Buffer.concat([got, Buffer.from('!')]));
        },
      }),
    });
    const s = await pair.dialer.newStream('/late/1');
    s.end('question');
    expect((await readAll(s)).toString()).toBe('question!');
  });

  it('fails a stream with UnknownProtocolError when the remote has no handler', async () => {
    pair = muxPair();
    const s = await pair.dialer.newStream('/nobody/1');
    s.write('x');
    const err = await errorOf(s);
    expect(err).toBeInstanceOf(UnknownProtocolError);
    expect((err as UnknownProtocolError).protocol).toBe('/nobody/1');
    expect(pair.listener.streams()).toHaveLength(0);
  });

  it('propagates a reset to the remote as StreamResetError', async () => {
    let inbound: Stream | undefined;
    const got = new Promise<Stream>((resolve) => {
      pair = muxPair({
        listenerRegistry: registry({
          '/hold/1': (s) => {
            inbound = s;
            resolve(s);
          },
        }),
      });
    });
    const s = await pair!.dialer.newStream('/hold/1');
    s.write('x');
    await got;
    s.reset();
    const err = await errorOf(inbound!);
    expect(err).toBeInstanceOf(StreamResetError);
    expect((err as StreamResetError).remote).toBe(true);
  });

  it('sends the reset of a destroyed stream with the next write, or not at all after an abort', async () => {
    const held: Stream[] = [];
    pair = muxPair({ listenerRegistry: registry({ '/hold/1': (s) => void held.push(s) }) });
    const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
    const a = await pair.dialer.newStream('/hold/1');
    const b = await pair.dialer.newStream('/hold/1');
    a.write('x');
    b.write('y');
    await tick();
    expect(held).toHaveLength(2);
    // A reset and data queued in the same tick leave in one write.
    let writes = pair.dialer.counters.pipeWrites;
    a.reset();
    b.write('z');
    await tick();
    expect(pair.dialer.counters.pipeWrites - writes).toBe(1);
    expect(await errorOf(held[0]!)).toBeInstanceOf(StreamResetError);
    // A reset alone leaves within a turn of the event loop.
    writes = pair.dialer.counters.pipeWrites;
    b.reset();
    expect(await errorOf(held[1]!)).toBeInstanceOf(StreamResetError);
    expect(pair.dialer.counters.pipeWrites - writes).toBe(1);
    // A reset followed at once by an abort of the connection is not written.
    const c = await pair.dialer.newStream('/hold/1');
    c.write('w');
    await tick();
    writes = pair.dialer.counters.pipeWrites;
    c.reset();
    pair.dialer.abort();
    await tick();
    expect(pair.dialer.counters.pipeWrites).toBe(writes);
  });

  it('resets the stream when its handler throws', async () => {
    pair = muxPair({
      listenerRegistry: registry({
        '/boom/1': () => {
          throw new Error('handler bug');
        },
      }),
    });
    const s = await pair.dialer.newStream('/boom/1');
    s.write('x');
    expect(await errorOf(s)).toBeInstanceOf(StreamResetError);
  });

  it('refuses streams above the remote limit and enforces the local one', async () => {
    const held: Stream[] = [];
    pair = muxPair({
      listener: { maxBidirectionalStreams: 3 },
      dialer: { maxBidirectionalStreams: 5 },
      listenerRegistry: registry({ '/hold/1': (s) => void held.push(s) }),
    });
    const streams = await Promise.all([1, 2, 3, 4].map(() => pair!.dialer.newStream('/hold/1')));
    for (const s of streams) s.write('x');
    const err = await errorOf(streams[3]!);
    expect(err).toBeInstanceOf(StreamRefusedError);
    expect(held).toHaveLength(3);
    await pair.dialer.newStream('/hold/1');
    await pair.dialer.newStream('/hold/1');
    await expect(pair.dialer.newStream('/hold/1')).rejects.toBeInstanceOf(StreamLimitError);
    // a closed stream frees its slot on both sides
    streams[0]!.reset();
    await errorOf(held[0]!);
    const again = await pair.dialer.newStream('/hold/1');
    again.write('y');
    await new Promise((r) => setTimeout(r, 50));
    expect(again.destroyed).toBe(false);
    expect(held).toHaveLength(4);
  });

  it('carries unidirectional streams', async () => {
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      pair = muxPair({
        listenerRegistry: registry({
          '/push/1': async (s) => {
            expect(s.unidirectional).toBe(true);
            expect(s.writableEnded).toBe(true);
            got.push(await readAll(s));
            resolve();
          },
        }),
      });
    });
    const s = await pair!.dialer.newStream('/push/1', { unidirectional: true });
    expect(s.unidirectional).toBe(true);
    s.end('one way');
    await done;
    expect(got[0]!.toString()).toBe('one way');
    await closed(s);
    expect(pair!.dialer.streams()).toHaveLength(0);
  });

  it('rejects bad protocol names and streams on a closing connection', async () => {
    pair = muxPair();
    await expect(pair.dialer.newStream('')).rejects.toBeInstanceOf(RangeError);
    await expect(pair.dialer.newStream('x'.repeat(129))).rejects.toBeInstanceOf(RangeError);
    await expect(pair.dialer.newStream(5 as never)).rejects.toBeInstanceOf(TypeError);
    const ac = new AbortController();
    ac.abort();
    await expect(pair.dialer.newStream('/x/1', { signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    await pair.dialer.close();
    await expect(pair.dialer.newStream('/x/1')).rejects.toBeInstanceOf(ClosedError);
  });
});
