// Stream cases: echo, protocols, concurrency, half-close, one-way, bulk with a slow reader, limits, resets.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from '@jest/globals';
import type { Stream } from '@detr/interface';
import { readAll, streamError, waitFor, within, writeWithBackpressure } from '../util.js';
import type { SuiteContext } from './context.js';

// A full collection on demand (jest does not expose `gc`): V8's flag, then the function from a
// fresh context.
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Defines the cases (inside the suite's describe). */
export function streamCases(ctx: SuiteContext): void {
  const { factory, bulkBytes, maxGrowth, timeout, connect, echo, got } = ctx;
  it(
    'echo',
    async () => {
      const { server, client, conn, accepted } = await connect(undefined, undefined, (s) =>
        s.handle('/echo/1', echo),
      );
      expect(conn.remotePeer.equals(server.peer)).toBe(true);
      expect(conn.direction).toBe('outbound');
      expect(conn.transport).toBe(factory.name);
      expect(conn.status).toBe('open');
      const inbound = await within(accepted, 10_000, 'accepted connection');
      expect(inbound.remotePeer.equals(client.peer)).toBe(true);
      expect(inbound.direction).toBe('inbound');
      const s = await conn.newStream('/echo/1');
      expect(s.protocol).toBe('/echo/1');
      s.end(Buffer.from('hello, compliance'));
      expect((await readAll(s)).toString()).toBe('hello, compliance');
      expect(conn.stats().bytesSent).toBeGreaterThan(0);
      expect(conn.stats().streamsOpened).toBeGreaterThanOrEqual(1);
    },
    timeout,
  );

  it(
    'unknown protocol',
    async () => {
      const { conn } = await connect();
      const s = await conn.newStream('/nobody/handles/1');
      s.write('x');
      const err = await streamError(s);
      expect((err as { code?: string }).code).toBe('UNKNOWN_PROTOCOL');
      expect(conn.status).toBe('open');
    },
    timeout,
  );

  it(
    '100 concurrent streams',
    async () => {
      const { conn } = await connect(undefined, undefined, (s) => s.handle('/echo/1', echo));
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const s = await conn.newStream('/echo/1');
          const data = Buffer.alloc(1024 + i, i);
          s.end(data);
          return (await readAll(s)).equals(data);
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    },
    timeout,
  );

  it(
    'half-close',
    async () => {
      const { conn } = await connect(undefined, undefined, (server) =>
        server.handle('/reply-after-end/1', (s) => {
          void readAll(s).then((got) => s.end(Buffer.concat([got, Buffer.from(' done')])));
        }),
      );
      const s = await conn.newStream('/reply-after-end/1');
      s.write('part one,');
      s.end(' part two');
      expect((await readAll(s)).toString()).toBe('part one, part two done');
    },
    timeout,
  );

  it(
    'unidirectional stream',
    async () => {
      let received: Promise<Buffer> | undefined;
      const { conn } = await connect(undefined, undefined, (server) =>
        server.handle('/push/1', (s) => {
          expect(s.unidirectional).toBe(true);
          received = readAll(s);
        }),
      );
      const s = await conn.newStream('/push/1', { unidirectional: true });
      expect(s.unidirectional).toBe(true);
      s.end('one way only');
      await waitFor(() => received !== undefined, 10_000, 'inbound stream');
      expect((await got(received, 'inbound stream')).toString()).toBe('one way only');
    },
    timeout,
  );

  it(
    'bulk through one stream with a slow reader',
    async () => {
      let received = 0;
      let maxBuffered = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => (done = resolve));
      const { conn } = await connect(undefined, undefined, (server) =>
        server.handle('/sink/1', (s) => {
          let sincePause = 0;
          s.on('data', (c: Buffer) => {
            received += c.length;
            sincePause += c.length;
            if (sincePause >= 4 * 1024 * 1024) {
              // The slow reader: stop for a while every 4 MiB.
              sincePause = 0;
              s.pause();
              setTimeout(() => {
                maxBuffered = Math.max(maxBuffered, s.readableLength);
                s.resume();
              }, 15);
            }
          });
          s.on('end', done);
        }),
      );
      const s = await conn.newStream('/sink/1');
      const base = process.memoryUsage().arrayBuffers;
      let maxGrowthSeen = 0;
      let maxWritable = 0;
      const sampler = setInterval(() => {
        let growth = process.memoryUsage().arrayBuffers - base;
        // Garbage the collector has not reached yet is not retention: above half the bound,
        // collect and measure what is still held.
        if (growth > maxGrowth / 2) {
          collectGarbage();
          growth = process.memoryUsage().arrayBuffers - base;
        }
        maxGrowthSeen = Math.max(maxGrowthSeen, growth);
      }, 20);
      try {
        const chunk = Buffer.alloc(64 * 1024, 0x5a);
        for (let sent = 0; sent < bulkBytes; sent += chunk.length) {
          await writeWithBackpressure(
            s,
            chunk.subarray(0, Math.min(chunk.length, bulkBytes - sent)),
          );
          maxWritable = Math.max(maxWritable, s.writableLength);
        }
        s.end();
        await within(finished, timeout, 'bulk transfer');
      } finally {
        clearInterval(sampler);
      }
      expect(received).toBe(bulkBytes);
      // What the slow reader holds is bounded by the stream's window (and one read), not by what
      // the writer had to send.
      expect(maxBuffered).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(maxWritable).toBeLessThanOrEqual(1024 * 1024);
      expect(maxGrowthSeen).toBeLessThan(maxGrowth);
    },
    timeout * 2,
  );

  it(
    'stream limit enforced',
    async () => {
      const held: Stream[] = [];
      const { conn } = await connect(
        { maxBidirectionalStreams: 3 },
        { maxBidirectionalStreams: 5 },
        (server) => server.handle('/hold/1', (s) => void held.push(s)),
      );
      const streams: Stream[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await conn.newStream('/hold/1');
        s.write('x');
        streams.push(s);
        await waitFor(() => held.length === i + 1, 10_000, `stream ${i + 1} accepted`);
      }
      const refused = await conn.newStream('/hold/1');
      refused.write('x');
      expect(((await streamError(refused)) as { code?: string }).code).toBe('STREAM_REFUSED');
      expect(held).toHaveLength(3);
      // Our own limit (5 open outbound streams): the 6th is refused locally.
      for (let i = 0; i < 2; i++) streams.push(await conn.newStream('/hold/1'));
      await expect(conn.newStream('/hold/1')).rejects.toMatchObject({ code: 'STREAM_LIMIT' });
      expect(conn.status).toBe('open');
    },
    timeout,
  );

  it(
    'remote reset',
    async () => {
      let inbound: Stream | undefined;
      const { conn } = await connect(undefined, undefined, (server) => {
        server.handle('/reset-me/1', (s) => void s.once('data', () => s.reset()));
        server.handle('/hold/1', (s) => void (inbound = s));
      });
      const a = await conn.newStream('/reset-me/1');
      a.write('please reset');
      expect(((await streamError(a)) as { code?: string }).code).toBe('STREAM_RESET');
      const b = await conn.newStream('/hold/1');
      b.write('hold');
      await waitFor(() => inbound !== undefined, 10_000, 'inbound stream');
      b.reset();
      expect(((await streamError(got(inbound, 'inbound'))) as { code?: string }).code).toBe(
        'STREAM_RESET',
      );
      expect(conn.status).toBe('open');
    },
    timeout,
  );
}
