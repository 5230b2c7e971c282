// The noise pipe over a kernel socket: bytes that came with the handshake (the leftover) are
// opened before the socket's own reads, and a forged leftover fails the pipe cleanly (no throw
// out of start(), a penalty, the socket destroyed) before it would switch to the shared buffer.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { performHandshake, type SecureSession } from '@detr/aecomms';
import type { PenaltyReason } from '@detr/interface';
import { systemClock } from '@detr/interface';
import { createDuplexPair } from '../../src/memory/duplex-pair.js';
import { createNoisePipe } from '../../src/secure/noise-pipe.js';
import { createTestNetwork } from '../support/network.js';

const open: (Server | Socket)[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) {
    if ('destroy' in x) x.destroy();
    else await new Promise<void>((resolve) => x.close(() => resolve()));
  }
});

/** Two secure sessions keyed by a real handshake (over an in-memory pair). */
async function sessions(): Promise<[SecureSession, SecureSession]> {
  const net = createTestNetwork();
  const [a, b] = createDuplexPair();
  const ho = (role: 'initiator' | 'responder') => {
    const m = net.member();
    return {
      role,
      identity: m.identity,
      network: m.network,
      token: m.token!,
      tokenVerifier: m.tokenVerifier,
    };
  };
  const [x, y] = await Promise.all([
    performHandshake(a, ho('initiator')),
    performHandshake(b, ho('responder')),
  ]);
  return [x.session, y.session];
}

async function tcpPair(): Promise<{ accepted: Socket; dialed: Socket }> {
  const server = createServer({ pauseOnConnect: true });
  open.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepting = once(server, 'connection') as Promise<[Socket]>;
  const dialed = connect((server.address() as { port: number }).port, '127.0.0.1');
  open.push(dialed);
  await once(dialed, 'connect');
  const [accepted] = await accepting;
  open.push(accepted);
  return { accepted, dialed };
}

function recorder() {
  const got: string[] = [];
  const errors: Array<{ err: Error; penalty: PenaltyReason | undefined }> = [];
  return {
    got,
    errors,
    handlers: {
      onMessage: (m: Uint8Array) => got.push(Buffer.from(m).toString()),
      onDrain: () => {},
      onEnd: () => {},
      onError: (err: Error, penalty?: PenaltyReason) => errors.push({ err, penalty }),
    },
  };
}

describe('noise pipe over a kernel socket', () => {
  it('opens the leftover first, then the socket, split frames included', async () => {
    const [sa, sb] = await sessions();
    const { accepted, dialed } = await tcpPair();
    const first = sa.sealToBuffer(Buffer.from('leftover'));
    const second = sa.sealToBuffer(Buffer.from('x'.repeat(70_000).slice(0, 65_000)));
    // The leftover ends inside the next frame; the rest of it comes through the socket.
    const leftover = Buffer.concat([first, second.subarray(0, 100)]);
    const r = recorder();
    const pipe = createNoisePipe(sb, accepted, {
      leftover,
      clock: systemClock,
      endTimeoutMs: 1000,
      kernelSocket: true,
    });
    pipe.start(r.handlers);
    dialed.write(second.subarray(100));
    for (let i = 0; i < 1000 && r.got.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(r.got.map((m) => m.slice(0, 8))).toEqual(['leftover', 'xxxxxxxx']);
    expect(r.got[1]!.length).toBe(65_000);
    expect(r.errors).toEqual([]);
    pipe.destroy();
  });

  it('a forged leftover fails the pipe with a penalty; start() does not throw', async () => {
    const [sa, sb] = await sessions();
    const { accepted } = await tcpPair();
    const forged = Buffer.from(sa.sealToBuffer(Buffer.from('hello')));
    forged[5]! ^= 1;
    const r = recorder();
    const pipe = createNoisePipe(sb, accepted, {
      leftover: forged,
      clock: systemClock,
      endTimeoutMs: 1000,
      kernelSocket: true,
    });
    expect(() => pipe.start(r.handlers)).not.toThrow();
    expect(r.errors.map((e) => e.penalty)).toEqual(['invalid-message']);
    expect(accepted.destroyed).toBe(true);
    expect(r.got).toEqual([]);
  });
});
