// The transport compliance suite: every Transport (TCP, QUIC, memory, WebRTC) runs these cases.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Connection, DialOptions, Stream } from '@detr/interface';
import {
  closeOf,
  delay,
  readAll,
  streamError,
  waitFor,
  within,
  writeWithBackpressure,
} from '../util.js';
import type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
  TransportComplianceOptions,
} from './types.js';

/** The names of the cases, in order (the suite's own tests check it stays complete). */
export const TRANSPORT_CASES = [
  'echo',
  'unknown protocol',
  '100 concurrent streams',
  'half-close',
  'unidirectional stream',
  'bulk through one stream with a slow reader',
  'stream limit enforced',
  'remote reset',
  'abort mid-dial',
  'close during in-flight writes (graceful)',
  'close during in-flight writes (abort)',
  'idle timeout',
  'keepalive RTT reported',
  'malformed frame',
  'peer without token refused',
  'unexpected peer refused',
] as const;

interface Pair {
  server: ComplianceEndpoint;
  client: ComplianceEndpoint;
  /** The dialer's connection. */
  conn: Connection;
  /** The listener's side of it. */
  accepted: Promise<Connection>;
}

/**
 * Defines the transport compliance cases (jest `describe`/`it`) for one implementation.
 *
 * @example
 * ```ts
 * runTransportCompliance({ name: 'tcp', endpoint, listenAddress, silentListener, injectMalformed })
 * ```
 */
export function runTransportCompliance(
  factory: TransportComplianceFactory,
  options: TransportComplianceOptions = {},
): void {
  const bulkBytes = options.bulkBytes ?? 100 * 1024 * 1024;
  const maxGrowth = options.maxBulkMemoryGrowthBytes ?? 64 * 1024 * 1024;
  const timeout = options.caseTimeoutMs ?? 60_000;
  const cleanups: Array<() => Promise<void>> = [];

  const endpoint = async (o?: ComplianceEndpointOptions): Promise<ComplianceEndpoint> => {
    const e = await factory.endpoint(o);
    cleanups.push(() => e.transport.close());
    return e;
  };

  /** A listening server endpoint, a client endpoint, and a connection between them. */
  const connect = async (
    serverOptions?: ComplianceEndpointOptions,
    clientOptions?: ComplianceEndpointOptions,
    setup?: (server: ComplianceEndpoint) => void,
  ): Promise<Pair> => {
    const server = await endpoint(serverOptions);
    setup?.(server);
    const client = await endpoint(clientOptions);
    let onAccept: (c: Connection) => void = () => {};
    const accepted = new Promise<Connection>((resolve) => (onAccept = resolve));
    const listener = await server.transport.listen(factory.listenAddress(), (c) => onAccept(c));
    cleanups.push(() => listener.close());
    const address = listener.addresses()[0];
    if (address === undefined) throw new Error('the listener reports no address');
    const dialOptions: DialOptions = { expectedPeer: server.peer };
    const conn = await client.transport.dial(address, dialOptions);
    return { server, client, conn, accepted };
  };

  const echo = (s: Stream): void => void s.pipe(s);
  /** `value`, or a failure naming `what` when it is missing. */
  const got = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`missing: ${what}`);
    return value;
  };

  describe(`transport compliance: ${factory.name}`, () => {
    afterEach(async () => {
      const list = cleanups.splice(0).reverse();
      for (const c of list) await c().catch(() => {});
    });

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
          maxGrowthSeen = Math.max(maxGrowthSeen, process.memoryUsage().arrayBuffers - base);
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

    it(
      'abort mid-dial',
      async () => {
        const client = await endpoint();
        const silent = await factory.silentListener();
        cleanups.push(() => silent.close());
        const already = new AbortController();
        already.abort();
        await expect(
          client.transport.dial(silent.address, { signal: already.signal }),
        ).rejects.toMatchObject({ code: 'ABORTED' });
        const ac = new AbortController();
        const dialing = client.transport.dial(silent.address, { signal: ac.signal });
        await delay(100);
        ac.abort();
        await expect(within(dialing, 10_000, 'aborted dial')).rejects.toMatchObject({
          code: 'ABORTED',
        });
      },
      timeout,
    );

    it(
      'close during in-flight writes (graceful)',
      async () => {
        let received: Promise<Buffer> | undefined;
        const { conn, accepted } = await connect(undefined, undefined, (server) =>
          server.handle('/sink/1', (s) => {
            received = readAll(s);
            void received.then(() => s.end(), () => {});
          }),
        );
        const data = Buffer.alloc(8 * 1024 * 1024, 7);
        const s = await conn.newStream('/sink/1');
        s.end(data);
        const closing = conn.close();
        expect(conn.status).not.toBe('open');
        await waitFor(() => received !== undefined, 10_000, 'inbound stream');
        const all = await within(got(received, 'inbound stream'), 30_000, 'drained data');
        expect(all.length).toBe(data.length);
        await within(closing, 30_000, 'close()');
        expect(conn.status).toBe('closed');
        const inbound = await accepted;
        expect(await closeOf(inbound)).toBeUndefined();
      },
      timeout,
    );

    it(
      'close during in-flight writes (abort)',
      async () => {
        let inbound: Stream | undefined;
        const { conn, accepted } = await connect(undefined, undefined, (server) =>
          server.handle('/sink/1', (s) => void (inbound = s)),
        );
        const s = await conn.newStream('/sink/1');
        for (let i = 0; i < 64; i++) s.write(Buffer.alloc(64 * 1024, i));
        await waitFor(() => inbound !== undefined, 10_000, 'inbound stream');
        const remote = await accepted;
        const remoteClosed = closeOf(remote);
        conn.abort();
        expect(conn.status).toBe('closed');
        expect(s.destroyed).toBe(true);
        await remoteClosed;
        expect(remote.status).toBe('closed');
        await waitFor(() => got(inbound, 'inbound').destroyed, 10_000, 'remote stream destroyed');
      },
      timeout,
    );

    it(
      'idle timeout',
      async () => {
        const { conn, accepted } = await connect(
          { idleTimeoutMs: 300 },
          { idleTimeoutMs: 300 },
          (s) => s.handle('/echo/1', echo),
        );
        const s = await conn.newStream('/echo/1');
        s.end('x');
        await readAll(s);
        const inbound = await accepted;
        expect(await closeOf(conn, 15_000)).toBeUndefined();
        await closeOf(inbound, 15_000);
        expect(conn.status).toBe('closed');
        expect(inbound.status).toBe('closed');
      },
      timeout,
    );

    it(
      'keepalive RTT reported',
      async () => {
        const { conn, accepted } = await connect(
          { keepaliveIntervalMs: 50 },
          { keepaliveIntervalMs: 50 },
        );
        await waitFor(() => conn.stats().rttMs !== undefined, 10_000, 'dialer rtt');
        const inbound = await accepted;
        await waitFor(() => inbound.stats().rttMs !== undefined, 10_000, 'listener rtt');
        expect(conn.stats().rttMs).toBeGreaterThan(0);
        expect(conn.stats().rttMs).toBeLessThan(5_000);
      },
      timeout,
    );

    it(
      'malformed frame',
      async () => {
        const server = await endpoint();
        let handlerRuns = 0;
        server.handle('/echo/1', (s) => {
          handlerRuns++;
          echo(s);
        });
        const inbound: Connection[] = [];
        const listener = await server.transport.listen(factory.listenAddress(), (c) =>
          inbound.push(c),
        );
        cleanups.push(() => listener.close());
        const injector = await factory.injectMalformed(got(listener.addresses()[0], 'address'));
        cleanups.push(() => injector.close());
        await waitFor(() => inbound.length === 1, 10_000, 'connection of the injector');
        const victim = got(inbound[0], 'inbound connection');
        const err = await closeOf(victim);
        expect((err as { code?: string } | undefined)?.code).toBe('PROTOCOL_VIOLATION');
        expect(victim.status).toBe('closed');
        expect(server.penalties.some((p) => p.peer.equals(injector.peer))).toBe(true);
        expect(handlerRuns).toBe(0);
      },
      timeout,
    );

    it(
      'peer without token refused',
      async () => {
        const server = await endpoint();
        let handlerRuns = 0;
        server.handle('/echo/1', (s) => {
          handlerRuns++;
          echo(s);
        });
        const inbound: Connection[] = [];
        const listener = await server.transport.listen(factory.listenAddress(), (c) =>
          inbound.push(c),
        );
        cleanups.push(() => listener.close());
        const address = got(listener.addresses()[0], 'address');
        const stranger = await endpoint({ withoutToken: true });
        await expect(
          within(stranger.transport.dial(address, { expectedPeer: server.peer }), 20_000, 'dial'),
        ).rejects.toBeInstanceOf(Error);
        // A member dialing a listener without a token is refused as well.
        const strangeServer = await endpoint({ withoutToken: true });
        const l2 = await strangeServer.transport.listen(factory.listenAddress(), (c) =>
          inbound.push(c),
        );
        cleanups.push(() => l2.close());
        const member = await endpoint();
        await expect(
          within(member.transport.dial(got(l2.addresses()[0], 'address')), 20_000, 'dial'),
        ).rejects.toBeInstanceOf(Error);
        await delay(200);
        expect(inbound).toHaveLength(0);
        expect(handlerRuns).toBe(0);
      },
      timeout,
    );

    it(
      'unexpected peer refused',
      async () => {
        const server = await endpoint();
        const someoneElse = await endpoint();
        const inbound: Connection[] = [];
        const listener = await server.transport.listen(factory.listenAddress(), (c) =>
          inbound.push(c),
        );
        cleanups.push(() => listener.close());
        const client = await endpoint();
        await expect(
          within(
            client.transport.dial(got(listener.addresses()[0], 'address'), {
              expectedPeer: someoneElse.peer,
            }),
            20_000,
            'dial',
          ),
        ).rejects.toBeInstanceOf(Error);
        await delay(100);
        for (const c of inbound) expect(c.status).not.toBe('open');
      },
      timeout,
    );
  });
}
