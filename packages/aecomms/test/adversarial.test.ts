// The adversarial cases of issue 5 that need a man in the middle or a raw peer, each its own case,
// each ending in the typed error and a closed channel. (Token, identity and PeerId cases are in
// test/handshake/handshake.test.ts.)
import type { Duplex } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  DecryptError,
  HandshakeError,
  TruncatedStreamError,
  createSecureStream,
  performHandshake,
} from '../src/index.js';
import { closed, createDuplexPair } from './support/duplex-pair.js';
import { createTestNetwork, settle, sideOptions, type TestNetwork } from './support/network.js';
import { createRelay, type FrameRewrite } from './support/relay.js';

/** Handshake through a relay, then secure streams on both ends. */
async function secureThroughRelay(net: TestNetwork, c2s: FrameRewrite) {
  const alice = net.member();
  const bob = net.member();
  const { client, server } = createRelay(c2s);
  const [ri, rr] = await Promise.all([
    performHandshake(client, sideOptions(net, alice, 'initiator')),
    performHandshake(server, sideOptions(net, bob, 'responder')),
  ]);
  const sa = createSecureStream(client, ri.session, { remainder: ri.remainder });
  const sb = createSecureStream(server, rr.session, { remainder: rr.remainder });
  const received: string[] = [];
  const error = new Promise<unknown>((resolve) => {
    sb.on('error', resolve);
    sb.on('close', () => resolve(undefined));
  });
  sa.on('error', () => {});
  sb.on('data', (d: Buffer) => received.push(d.toString()));
  return { sa, sb, client, server, received, error };
}

async function expectChannelKilled(
  s: { sa: Duplex; sb: Duplex; client: Duplex; server: Duplex; error: Promise<unknown> },
  type: new (...args: never[]) => Error,
): Promise<void> {
  const err = await s.error;
  expect(err).toBeInstanceOf(type);
  await Promise.all([closed(s.sb), closed(s.server), closed(s.client), closed(s.sa)]);
  expect(s.server.destroyed && s.client.destroyed).toBe(true);
}

// Client → server frame indexes: 0 = message 1, 1 = message 3, 2… = transport frames.
const FIRST = 2;

describe('adversarial transport messages', () => {
  it('a bit-flipped transport message → DecryptError, channel closed', async () => {
    const net = createTestNetwork();
    const s = await secureThroughRelay(net, (f, i) => {
      if (i === FIRST) f[10]! ^= 0x04;
      return [f];
    });
    s.sa.write('tampered in flight');
    await expectChannelKilled(s, DecryptError);
    expect(s.received).toEqual([]);
  });

  it('a truncated transport message (stream ends inside it) → TruncatedStreamError', async () => {
    const net = createTestNetwork();
    const s = await secureThroughRelay(net, (f, i, to) => {
      if (i === FIRST) {
        to.end(f.subarray(0, f.length - 5));
        return [];
      }
      return [f];
    });
    s.sa.write('cut short');
    await expectChannelKilled(s, TruncatedStreamError);
    expect(s.received).toEqual([]);
  });

  it('a stream cut at a frame boundary (no authenticated end) → TruncatedStreamError', async () => {
    const net = createTestNetwork();
    const s = await secureThroughRelay(net, (f, i, to) => {
      if (i === FIRST + 1) {
        to.end(); // drop the end-of-stream marker, forward a FIN
        return [];
      }
      return [f];
    });
    s.sa.end('complete message, but the end marker is dropped');
    await expectChannelKilled(s, TruncatedStreamError);
    expect(s.received).toEqual(['complete message, but the end marker is dropped']);
  });

  it('reordered transport messages → DecryptError', async () => {
    const net = createTestNetwork();
    let held: Buffer | undefined;
    const s = await secureThroughRelay(net, (f, i) => {
      if (i === FIRST) {
        held = f;
        return [];
      }
      if (i === FIRST + 1) return [f, held!];
      return [f];
    });
    s.sa.write('first');
    await new Promise((r) => setTimeout(r, 5));
    s.sa.write('second');
    await expectChannelKilled(s, DecryptError);
    expect(s.received).toEqual([]);
  });

  it('a replayed transport message → DecryptError after the genuine one', async () => {
    const net = createTestNetwork();
    const s = await secureThroughRelay(net, (f, i) => (i === FIRST ? [f, Buffer.from(f)] : [f]));
    s.sa.write('once');
    await expectChannelKilled(s, DecryptError);
    expect(s.received).toEqual(['once']);
  });
});

describe('adversarial handshakes', () => {
  it('a replayed handshake (messages 1 and 3 of an earlier session) → HandshakeError, closed', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const recorded: Buffer[] = [];
    const { client, server } = createRelay((f) => {
      recorded.push(Buffer.from(f));
      return [f];
    });
    await Promise.all([
      performHandshake(client, sideOptions(net, alice, 'initiator')),
      performHandshake(server, sideOptions(net, bob, 'responder')),
    ]);
    client.destroy();
    await closed(server);
    // Replay both recorded initiator messages to a fresh responder.
    const [raw, victim] = createDuplexPair();
    raw.on('data', () => {});
    raw.on('error', () => {});
    const outcome = settle(performHandshake(victim, sideOptions(net, bob, 'responder')));
    raw.write(recorded[0]!);
    raw.write(recorded[1]!);
    const o = await outcome;
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.error).toBeInstanceOf(HandshakeError);
      expect((o.error as HandshakeError).reason).toBe('noise');
    }
    await Promise.all([closed(victim), closed(raw)]);
  });

  it('an oversized handshake message is refused from its length prefix alone', async () => {
    const net = createTestNetwork();
    const bob = net.member();
    const [raw, victim] = createDuplexPair();
    raw.on('data', () => {});
    raw.on('error', () => {});
    const outcome = settle(
      performHandshake(
        victim,
        sideOptions(net, bob, 'responder', { maxHandshakeMessageBytes: 4096 }),
      ),
    );
    raw.write(Buffer.from([0x10, 0x01])); // 4097 bytes announced, none sent
    const o = await outcome;
    expect(!o.ok && o.error instanceof HandshakeError && o.error.reason).toBe('message-too-large');
    await Promise.all([closed(victim), closed(raw)]);
  });

  it('an oversized message 2 is refused by the initiator', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const [victim, raw] = createDuplexPair();
    raw.on('data', () => {
      raw.write(Buffer.from([0xff, 0xff]));
    });
    raw.on('error', () => {});
    const o = await settle(performHandshake(victim, sideOptions(net, alice, 'initiator')));
    expect(!o.ok && o.error instanceof HandshakeError && o.error.reason).toBe('message-too-large');
    await Promise.all([closed(victim), closed(raw)]);
  });

  it.each([
    {
      what: 'an HTTP request',
      garbage: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      expected: 'message-too-large',
    },
    { what: 'a short frame', garbage: Buffer.from([0, 5, 1, 2, 3, 4, 5]), expected: 'malformed' },
    // 0x1603 announces 5,635 bytes, under the limit: the responder waits, bounded by the timeout.
    {
      what: 'a TLS ClientHello',
      garbage: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
      expected: 'TimeoutError',
    },
  ])('garbage before the handshake ($what) → $expected, closed', async ({ garbage, expected }) => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const [a, b] = createDuplexPair();
    a.write(garbage);
    const both = Promise.all([
      settle(performHandshake(a, sideOptions(net, alice, 'initiator'))),
      settle(performHandshake(b, sideOptions(net, bob, 'responder'))),
    ]);
    if (expected === 'TimeoutError') {
      await new Promise((r) => setTimeout(r, 20));
      await net.clock.advanceAsync(10_000);
    }
    const [i, r] = await both;
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const e = r.error as Error;
      expect(e instanceof HandshakeError ? e.reason : e.name).toBe(expected);
    }
    expect(i.ok).toBe(false);
    await Promise.all([closed(a), closed(b)]);
  });

  it('a low-order ephemeral key in message 1 → HandshakeError noise', async () => {
    const net = createTestNetwork();
    const bob = net.member();
    const [raw, victim] = createDuplexPair();
    raw.on('data', () => {});
    raw.on('error', () => {});
    const o = settle(performHandshake(victim, sideOptions(net, bob, 'responder')));
    raw.write(Buffer.concat([Buffer.from([0, 32]), Buffer.alloc(32)]));
    const out = await o;
    expect(!out.ok && out.error instanceof HandshakeError && out.error.reason).toBe('noise');
    await Promise.all([closed(victim), closed(raw)]);
  });
});
