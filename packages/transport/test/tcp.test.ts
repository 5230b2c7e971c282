// TCP-specific behaviour beyond the compliance suite: handshake failures reach the PeerReporter.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createIdentity, issueToken } from '@detr/aecomms';
import { HandshakeError } from '@detr/aecomms';
import type { Connection, Listener, PeerId, Transport } from '@detr/interface';
import { parseAddress, withPeer } from '@detr/interface';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { DialFailedError, createTcpTransport } from '../src/index.js';
import { createTestNetwork } from './support/network.js';

const started: Array<Transport | Listener> = [];
afterEach(async () => {
  for (const t of started.splice(0).reverse()) await t.close();
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP listener that accepts and never speaks: a dial to it waits for Noise message 2. */
async function silentListener(): Promise<{ port: number; stop: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const silent = createServer((s) => {
    s.on('error', () => {});
    accepted.push(s);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  return {
    port: (silent.address() as AddressInfo).port,
    stop: async () => {
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    },
  };
}

const has = (list: Array<{ peer: PeerId; reason: string }>, peer: PeerId): boolean =>
  list.some((p) => p.peer.equals(peer) && p.reason === 'handshake-failed');

describe('TCP transport: handshake failures reported to the PeerReporter', () => {
  it('a listener penalizes an authenticated dialer whose token fails; the dialer is refused', async () => {
    const net = createTestNetwork();
    const server = net.member();
    const client = net.member({ withoutToken: true });
    const st = createTcpTransport(server, { handshakeTimeoutMs: 5000 });
    const ct = createTcpTransport(client, { handshakeTimeoutMs: 5000 });
    started.push(st, ct);
    const listener = await st.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), () => {});
    started.push(listener);
    await expect(ct.dial(listener.addresses()[0]!)).rejects.toBeInstanceOf(HandshakeError);
    await until(() => has(server.penalties, client.identity.peerId));
    expect(client.penalties).toEqual([]);
  });

  it('a dialer penalizes a listener whose token fails (expired)', async () => {
    const net = createTestNetwork();
    const identity = createIdentity();
    const expired = issueToken(net.admin, {
      networkId: net.network.networkId,
      peer: identity.peerId,
      notBeforeMs: Date.now() - 7_200_000,
      expiresAtMs: Date.now() - 3_600_000,
    });
    const server = { ...net.member({ identity }), token: expired };
    const client = net.member();
    const st = createTcpTransport(server, {});
    const ct = createTcpTransport(client, {});
    started.push(st, ct);
    const listener = await st.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), () => {});
    started.push(listener);
    const err = await ct.dial(listener.addresses()[0]!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect((err as HandshakeError).reason).toBe('token-expired');
    expect(has(client.penalties, identity.peerId)).toBe(true);
  });

  it('no penalty for a gate refusal or an unexpected identity', async () => {
    const net = createTestNetwork();
    const server = net.member();
    const client = net.member();
    const st = createTcpTransport(server, {});
    const ct = createTcpTransport(
      {
        ...client,
        gate: { allowInbound: () => true, allowDial: () => true, allowPeer: () => false },
      },
      {},
    );
    started.push(st, ct);
    const listener = await st.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), () => {});
    started.push(listener);
    const address = listener.addresses()[0]!;
    await expect(ct.dial(address)).rejects.toMatchObject({ reason: 'peer-refused' });
    const other = createTcpTransport(net.member(), {});
    started.push(other);
    await expect(
      other.dial(withPeer(address, createIdentity().peerId.toString())),
    ).rejects.toMatchObject({ reason: 'unexpected-peer' });
    await new Promise((r) => setTimeout(r, 100));
    expect(client.penalties).toEqual([]);
    expect(server.penalties).toEqual([]);
  });
});

describe('TCP transport: connect and close', () => {
  it('a dial to a port nobody listens on fails with a DialFailedError', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ct = createTcpTransport(createTestNetwork().member(), {});
    started.push(ct);
    await expect(ct.dial(parseAddress(`/ip4/127.0.0.1/tcp/${port}`))).rejects.toBeInstanceOf(
      DialFailedError,
    );
  });

  it('close() ends an inbound handshake in flight and hands up no connection', async () => {
    const st = createTcpTransport(createTestNetwork().member(), {});
    const inbound: unknown[] = [];
    const listener = await st.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), (c) => inbound.push(c));
    const { port } = listener.addresses()[0]!;
    // A client that connects and never speaks: the listener's handshake waits for message 1.
    const raw = connect({ host: '127.0.0.1', port });
    raw.on('error', () => {});
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.resume();
    await new Promise<void>((r) => raw.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    await st.close();
    await closed;
    expect(inbound).toEqual([]);
  });

  it('close() ends a dial in flight with a ClosedError (no abort listener per dial)', async () => {
    const { port, stop } = await silentListener();
    const ct = createTcpTransport(createTestNetwork().member(), {});
    const dialing = ct.dial(parseAddress(`/ip4/127.0.0.1/tcp/${port}`));
    await new Promise((r) => setTimeout(r, 50));
    await ct.close();
    await expect(dialing).rejects.toMatchObject({ name: 'ClosedError' });
    await stop();
  });

  it('a dial given a signal still rejects with AbortError when it aborts', async () => {
    const { port, stop } = await silentListener();
    const ct = createTcpTransport(createTestNetwork().member(), {});
    started.push(ct);
    const ac = new AbortController();
    const dialing = ct.dial(parseAddress(`/ip4/127.0.0.1/tcp/${port}`), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await expect(dialing).rejects.toMatchObject({ code: 'ABORTED' });
    await stop();
  });
});

/** Sends `mib` MiB of random data on each of as many streams, and checks what the server got. */
async function sendChecked(conn: Connection, mibs: number[]): Promise<void> {
  const results = await Promise.all(
    mibs.map(async (mib, i) => {
      const body = randomBytes(mib << 20);
      const s = await conn.newStream('/sha/1');
      let o = 0;
      let k = i;
      while (o < body.length) {
        // 1 byte … 200 KiB: messages mixing streams, cut anywhere by the socket reads.
        const n = Math.min(body.length - o, [1, 70_000, 65_536, 200_000, 9, 20_000][k++ % 6]!);
        if (!s.write(body.subarray(o, o + n))) await once(s, 'drain');
        o += n;
      }
      s.end();
      const back = Buffer.concat(await s.toArray()).toString();
      return [back, `${body.length} ${createHash('sha256').update(body).digest('hex')}`];
    }),
  );
  for (const [back, expected] of results) expect(back).toBe(expected);
}

describe('TCP transport: the bulk data path', () => {
  // Sealed into the shared write slab (reused once the kernel took each write) and read into the
  // process's shared read buffer (each read opened and the start of a split frame copied out
  // before the next): every byte must still arrive where it was sent, on several streams and
  // connections at once, whatever the write sizes.
  async function checkedServer(): Promise<{ dial(): Promise<Connection> }> {
    const net = createTestNetwork();
    const server = net.member();
    server.registry.handle('/sha/1', (s) => {
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      s.on('end', () => s.end(`${n} ${hash.digest('hex')}`));
    });
    const st = createTcpTransport(server, {});
    const ct = createTcpTransport(net.member(), {});
    started.push(st, ct);
    const listener = await st.listen(parseAddress('/ip4/127.0.0.1/tcp/0'), () => {});
    started.push(listener);
    return { dial: () => ct.dial(listener.addresses()[0]!) };
  }

  it('carries random data on concurrent streams intact', async () => {
    const server = await checkedServer();
    await sendChecked(await server.dial(), [3, 1, 4, 2]);
  }, 30_000);

  it('carries random data on concurrent connections intact (one read buffer for all)', async () => {
    const server = await checkedServer();
    const conns = await Promise.all([0, 1, 2].map(() => server.dial()));
    // Distinct connections (the transport reuses none: each dial is its own socket).
    expect(new Set(conns.map((c) => c.id)).size).toBe(3);
    await Promise.all(conns.map((c, i) => sendChecked(c, i === 0 ? [2, 1] : [1, 2])));
  }, 30_000);
});
