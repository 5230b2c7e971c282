// Messages that arrive in pieces (opened in place where the socket read them): a MuxData frame
// running from one piece into the next goes to its stream without being copied together, and
// everything else gives exactly what the whole message would.
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  MessageType,
  PROTOCOL_VERSION,
  encodeDataFrame,
  encodeDataHeader,
  encodeFrame,
} from '@detr/protocol';
import { crossingDataFrame } from '../../src/mux/crossing.js';
import { echo, readAll, registry } from '../support/fakes.js';
import { muxPair, type MuxPair } from '../support/mux-pair.js';

let pair: MuxPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

/** A deterministic generator (xorshift32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Cuts a message at up to three random points (pieces may be a byte long). */
function randomCuts(seed: number): (m: Uint8Array) => Uint8Array[] {
  const next = prng(seed);
  return (m) => {
    const cuts = new Set<number>();
    const k = Math.floor(next() * 4);
    for (let i = 0; i < k; i++) cuts.add(1 + Math.floor(next() * Math.max(1, m.length - 1)));
    const at = [...cuts].filter((c) => c < m.length).sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    let o = 0;
    for (const c of at) {
      pieces.push(m.subarray(o, c));
      o = c;
    }
    pieces.push(m.subarray(o));
    return pieces;
  };
}

const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

describe('crossingDataFrame', () => {
  const data = encodeDataFrame(5, new Uint8Array(1000).fill(9));
  const header = encodeDataHeader(5, 1000);

  it('finds a MuxData frame running past the end, after whole frames', () => {
    const ping = encodeFrame(MessageType.MuxPing, { nonce: new Uint8Array(8) });
    const piece = concat(ping, data.subarray(0, 100));
    expect(crossingDataFrame(piece, PROTOCOL_VERSION, 65_519)).toEqual({
      frameStart: ping.length,
      streamId: 5,
      payloadStart: ping.length + header.length,
      payloadBytes: 1000,
    });
    // The header alone is enough.
    expect(crossingDataFrame(data.subarray(0, header.length), PROTOCOL_VERSION, 65_519)).toEqual({
      frameStart: 0,
      streamId: 5,
      payloadStart: header.length,
      payloadBytes: 1000,
    });
  });

  it('leaves everything else to the general decoder', () => {
    const none = (piece: Uint8Array, version = PROTOCOL_VERSION, max = 65_519): void =>
      expect(crossingDataFrame(piece, version, max)).toBeUndefined();
    none(data); // whole
    none(data.subarray(0, header.length - 1)); // header cut
    none(data.subarray(0, 100), PROTOCOL_VERSION + 1); // another version
    none(data.subarray(0, 100), PROTOCOL_VERSION, 500); // above the size limit
    const open = encodeFrame(MessageType.MuxOpen, { streamId: 3, protocol: '/a/1' });
    none(open.subarray(0, open.length - 1)); // another type
    // Not as detr writes it: a non-minimal stream id, an extra field, a payload not filling it.
    const h = Array.from(header);
    const nonMinimal = Uint8Array.from([h[0]! + 1, ...h.slice(1, 4), 0x85, 0x00, ...h.slice(5)]);
    none(nonMinimal);
    none(Uint8Array.from([h[0]!, h[1]!, h[2]!, 0x10, 0x05, ...h.slice(5)]));
    const short = Uint8Array.from(header);
    short[0] = short[0]! + 1; // the frame claims a byte more than header + payload
    none(short);
    none(new Uint8Array(0));
  });
});

describe('mux messages in pieces', () => {
  it('carries random data on many streams intact whatever the cuts', async () => {
    for (const seed of [1, 2, 3]) {
      pair = muxPair({ split: randomCuts(seed), listenerRegistry: registry({ '/echo/1': echo }) });
      const next = prng(seed * 7919);
      const sizes = Array.from({ length: 6 }, (_, i) =>
        i === 0 ? 300_000 : Math.floor(next() * 150_000),
      );
      const results = await Promise.all(
        sizes.map(async (size) => {
          const body = randomBytes(size);
          const s = await pair!.dialer.newStream('/echo/1');
          // Writes of random sizes up to 70 KiB: messages full of data, split anywhere.
          let o = 0;
          while (o < size) {
            const n = Math.min(size - o, 1 + Math.floor(next() * 70_000));
            if (!s.write(body.subarray(o, o + n))) await once(s, 'drain');
            o += n;
          }
          s.end();
          return { body, back: await readAll(s) };
        }),
      );
      for (const r of results) expect(Buffer.compare(r.back, r.body)).toBe(0);
      pair.close();
      pair = undefined;
    }
  });

  /** A listener whose '/collect/1' streams gather what they read, fed raw messages. */
  function collecting(split: (m: Uint8Array) => Uint8Array[]): {
    got: Buffer[];
    received: (n: number) => Promise<void>;
  } {
    const got: Buffer[] = [];
    let waiter: { n: number; resolve: () => void } | undefined;
    const total = (): number => got.reduce((n, c) => n + c.length, 0);
    pair = muxPair({
      rawDialer: true,
      split,
      listenerRegistry: registry({
        '/collect/1': (s) => {
          s.on('data', (c: Buffer) => {
            got.push(c);
            if (waiter !== undefined && total() >= waiter.n) waiter.resolve();
          });
        },
      }),
    });
    return {
      got,
      received: (n) =>
        total() >= n ? Promise.resolve() : new Promise((resolve) => (waiter = { n, resolve })),
    };
  }

  const openFrame = (id: number): Uint8Array =>
    encodeFrame(MessageType.MuxOpen, { streamId: id, protocol: '/collect/1' });

  it('passes a frame that runs on into the next message through as well', async () => {
    const open = openFrame(1);
    const payload = randomBytes(5000);
    const frame = encodeDataFrame(1, payload);
    // Cut inside the data frame's payload: the frame crosses the piece and then the message.
    const c = collecting((m) => (m.length > 40 ? [m.subarray(0, 40), m.subarray(40)] : [m]));
    pair!.dialerPipe.inject(concat(open, frame.subarray(0, 3000)));
    pair!.dialerPipe.inject(frame.subarray(3000));
    const tail = encodeDataFrame(1, Uint8Array.of(1, 2, 3));
    pair!.dialerPipe.inject(tail);
    await c.received(5003);
    expect(Buffer.compare(Buffer.concat(c.got), Buffer.concat([payload, Buffer.of(1, 2, 3)]))).toBe(
      0,
    );
    expect(pair!.listener.stats().bytesReceived).toBe(open.length + frame.length + tail.length);
  });

  it('closes the connection for a passed-through payload of a stream never opened', async () => {
    collecting((m) => [m.subarray(0, 20), m.subarray(20)]);
    const closed = new Promise<Error | undefined>((resolve) => pair!.listener.onClose(resolve));
    pair!.dialerPipe.inject(encodeDataFrame(41, randomBytes(1000)));
    const err = await closed;
    expect(err?.message).toMatch(/never opened/);
    expect(pair!.listenerReporter.penalties.map((p) => p.reason)).toEqual(['protocol-violation']);
  });

  it('gives a frame whose header is cut to the decoder, with the same result', async () => {
    const open = openFrame(1);
    const payload = randomBytes(3000);
    const c = collecting((m) => [m.subarray(0, open.length + 2), m.subarray(open.length + 2)]);
    pair!.dialerPipe.inject(concat(open, encodeDataFrame(1, payload)));
    await c.received(3000);
    expect(Buffer.compare(Buffer.concat(c.got), payload)).toBe(0);
  });
});
