// createSecureStream: over real TCP on 127.0.0.1 and over in-memory pairs.
import { createHash } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createSecureStream, performHandshake, type HandshakeResult } from '../../src/index.js';
import { closed, createDuplexPair } from '../support/duplex-pair.js';
import { createTestNetwork, sideOptions } from '../support/network.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A TCP connection on 127.0.0.1 with both handshakes done. */
async function tcpSecurePair(): Promise<{
  client: Socket;
  server: Socket;
  ri: HandshakeResult;
  rr: HandshakeResult;
}> {
  const net = createTestNetwork();
  const alice = net.member();
  const bob = net.member();
  const srv: Server = createServer({ allowHalfOpen: true });
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((resolve) => srv.once('connection', resolve));
  const port = (srv.address() as { port: number }).port;
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const server = await accepted;
  cleanups.push(() => {
    client.destroy();
    server.destroy();
  });
  const [ri, rr] = await Promise.all([
    performHandshake(
      client,
      sideOptions(net, alice, 'initiator', { expectedPeer: bob.identity.peerId }),
    ),
    performHandshake(server, sideOptions(net, bob, 'responder')),
  ]);
  return { client, server, ri, rr };
}

function readAll(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

describe('createSecureStream over TCP (127.0.0.1)', () => {
  it('carries 8 MiB each way intact, ends cleanly both ways and closes the sockets', async () => {
    const { client, server, ri, rr } = await tcpSecurePair();
    const a = createSecureStream(client, ri.session, { remainder: ri.remainder });
    const b = createSecureStream(server, rr.session, { remainder: rr.remainder });
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const atB = readAll(b);
    const atA = readAll(a);
    for (let o = 0; o < payload.length; o += 100_000) a.write(payload.subarray(o, o + 100_000));
    a.end();
    const gotB = await atB;
    const digest = (x: Buffer): string => createHash('sha256').update(x).digest('hex');
    expect(gotB.length).toBe(payload.length);
    expect(digest(gotB)).toBe(digest(payload));
    b.end(gotB.subarray(0, 1024 * 1024)); // reply after the peer half-closed
    expect((await atA).length).toBe(1024 * 1024);
    await Promise.all([closed(a), closed(b)]);
    expect(client.destroyed && server.destroyed).toBe(true);
  });

  it('passes backpressure both ways: a paused reader stops the writer with bounded buffering', async () => {
    const { client, server, ri, rr } = await tcpSecurePair();
    const a = createSecureStream(client, ri.session);
    const b = createSecureStream(server, rr.session, { readableHighWaterMark: 64 * 1024 });
    b.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let accepted = 0;
    // Write until the writer says stop, waiting for drains that come while buffers fill.
    for (let round = 0; round < 5000; round++) {
      if (!a.write(chunk)) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => a.once('drain', () => r(true))),
          new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
        ]);
        accepted += chunk.length;
        if (!drained) break; // no drain: the whole pipeline is full
        continue;
      }
      accepted += chunk.length;
    }
    // The reader's socket was paused, so what the writer could push is bounded by the stream
    // buffers and the kernel's socket buffers (a few MiB on loopback), not by the 320 MiB offered.
    expect(server.isPaused()).toBe(true);
    expect(accepted).toBeLessThan(64 * 1024 * 1024);
    expect(b.readableLength).toBeLessThanOrEqual(64 * 1024 + 65_519);
    // Resume: everything arrives, in order, and the writer drains.
    let received = 0;
    const all = new Promise<void>((resolve) =>
      b.on('data', (d: Buffer) => {
        received += d.length;
        if (received === accepted) resolve();
      }),
    );
    b.resume();
    await all;
    expect(received).toBe(accepted);
    a.resume();
    a.end();
    b.end();
    await Promise.all([closed(a), closed(b)]);
  });

  it('an abrupt close of the peer surfaces as an error, not a clean end', async () => {
    const { client, server, ri, rr } = await tcpSecurePair();
    const a = createSecureStream(client, ri.session);
    const b = createSecureStream(server, rr.session);
    const err = new Promise<Error>((resolve) => b.once('error', resolve));
    a.on('error', () => {}); // a's own socket is destroyed under it: ClosedError
    a.write('partial');
    await new Promise((r) => setTimeout(r, 20));
    client.destroy();
    expect((await err).name).toMatch(/TruncatedStreamError|ClosedError/);
    await Promise.all([closed(a), closed(b)]);
  });
});

describe('createSecureStream in memory', () => {
  async function memoryPair() {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const [x, y] = createDuplexPair();
    const [ri, rr] = await Promise.all([
      performHandshake(x, sideOptions(net, alice, 'initiator')),
      performHandshake(y, sideOptions(net, bob, 'responder')),
    ]);
    return { x, y, ri, rr };
  }

  it('coalesces corked writes into one sealed message', async () => {
    const { x, y, ri, rr } = await memoryPair();
    const a = createSecureStream(x, ri.session);
    const b = createSecureStream(y, rr.session);
    const got = readAll(b);
    const before = ri.session.stats().messagesSent;
    a.cork();
    for (let i = 0; i < 10; i++) a.write(`m${i};`);
    process.nextTick(() => a.uncork());
    await new Promise((r) => setTimeout(r, 20));
    expect(ri.session.stats().messagesSent - before).toBe(1);
    a.resume();
    a.end();
    expect((await got).toString()).toBe('m0;m1;m2;m3;m4;m5;m6;m7;m8;m9;');
    b.end();
    await Promise.all([closed(a), closed(b)]);
  });

  it('splits a write larger than one message into several', async () => {
    const { x, y, ri, rr } = await memoryPair();
    const a = createSecureStream(x, ri.session);
    const b = createSecureStream(y, rr.session);
    const got = readAll(b);
    a.resume();
    a.end(Buffer.alloc(200_000, 3));
    expect((await got).length).toBe(200_000);
    expect(ri.session.stats().messagesSent).toBe(4 + 1); // 4 data messages + the end marker
    b.end();
    await Promise.all([closed(a), closed(b)]);
  });

  it('refuses data after the authenticated end marker', async () => {
    const { x, y, ri, rr } = await memoryPair();
    const b = createSecureStream(y, rr.session);
    const err = new Promise<Error>((resolve) => b.once('error', resolve));
    b.resume();
    for (const f of ri.session.seal(new Uint8Array(0))) x.write(f);
    for (const f of ri.session.seal(Buffer.from('smuggled'))) x.write(f);
    expect((await err).name).toBe('TruncatedStreamError');
    await Promise.all([closed(b), closed(x)]);
  });
});
