// Connection cases: dial abort, close in flight, idle timeout, keepalive, malformed frames, refused peers.
import { expect, it } from '@jest/globals';
import type { Connection, Stream } from '@detr/interface';
import { closeOf, delay, readAll, waitFor, within } from '../util.js';
import type { SuiteContext } from './context.js';

/** Defines the cases (inside the suite's describe). */
export function lifecycleCases(ctx: SuiteContext): void {
  const { factory, timeout, cleanups, endpoint, connect, echo, got } = ctx;
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
          void received.then(
            () => s.end(),
            () => {},
          );
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
}
