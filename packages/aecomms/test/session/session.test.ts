import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ClosedError } from '@detr/interface';
import {
  CipherState,
  DecryptError,
  MAX_PLAINTEXT_BYTES,
  MalformedFrameError,
  TruncatedStreamError,
  createSecureSession,
  type CryptoProvider,
  type SecureSession,
} from '../../src/index.js';
import { PROVIDERS, toHex, utf8 } from '../helpers.js';

function sessionPair(provider: CryptoProvider, rekeyAfterMessages?: number, other = provider) {
  const k1 = provider.randomBytes(32);
  const k2 = provider.randomBytes(32);
  const cs = (p: CryptoProvider, k: Uint8Array) => {
    const c = new CipherState(p);
    c.initializeKey(k);
    return c;
  };
  const extra = rekeyAfterMessages !== undefined ? { rekeyAfterMessages } : {};
  const h = new Uint8Array(32);
  const a = createSecureSession({
    send: cs(provider, k1),
    receive: cs(provider, k2),
    handshakeHash: h,
    ...extra,
  });
  const b = createSecureSession({
    send: cs(other, k2),
    receive: cs(other, k1),
    handshakeHash: h,
    ...extra,
  });
  return { a, b };
}

function openAll(s: SecureSession, bytes: Uint8Array): string[] {
  const out: string[] = [];
  s.open(bytes, (m) => out.push(Buffer.from(m).toString()));
  return out;
}

function expectFatal(fn: () => void, type: new (...a: never[]) => Error, s: SecureSession): void {
  expect(fn).toThrow(type);
  expect(s.closed).toBe(true);
  expect(() => s.open(new Uint8Array(1), () => {})).toThrow(ClosedError);
}

describe.each(PROVIDERS)('secure session, %s provider', (_name, provider) => {
  it('seals several parts into one frame and opens it', () => {
    const { a, b } = sessionPair(provider);
    const frame = a.seal([utf8('hello '), utf8(''), utf8('world')]);
    const bytes = Buffer.concat(frame);
    expect(bytes.readUInt16BE(0)).toBe(11 + 16);
    expect(bytes.length).toBe(2 + 11 + 16);
    expect(openAll(b, bytes)).toEqual(['hello world']);
    expect(a.stats()).toMatchObject({ messagesSent: 1, bytesSealed: 11 });
    expect(b.stats()).toMatchObject({ messagesReceived: 1, bytesOpened: 11 });
  });

  it('accepts the largest message and refuses a larger one', () => {
    const { a, b } = sessionPair(provider);
    const big = new Uint8Array(MAX_PLAINTEXT_BYTES).fill(7);
    const bytes = a.sealToBuffer(big);
    expect(bytes.length).toBe(2 + 65535);
    let got = 0;
    b.open(bytes, (m) => (got = m.length));
    expect(got).toBe(MAX_PLAINTEXT_BYTES);
    expect(() => a.seal([big, new Uint8Array(1)])).toThrow(RangeError);
    expect(a.closed).toBe(false);
  });

  it('opens a stream of frames cut at arbitrary boundaries (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        (messages, cuts) => {
          const { a, b } = sessionPair(provider);
          const stream = Buffer.concat(messages.map((m) => a.sealToBuffer(m)));
          const got: string[] = [];
          let o = 0;
          let i = 0;
          while (o < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            b.open(stream.subarray(o, o + n), (m) => got.push(toHex(m)));
            o += n;
          }
          b.end();
          expect(got).toEqual(messages.map((m) => toHex(m)));
        },
      ),
      { numRuns: provider.name !== 'noble' ? 200 : 50 },
    );
  });

  it('delivers messages in order and rekeys both sides in step', () => {
    const plain = sessionPair(provider);
    const rekeyed = sessionPair(provider, 3);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      rekeyed.b.open(rekeyed.a.sealToBuffer(utf8(`m${i}`)), (m) =>
        got.push(Buffer.from(m).toString()),
      );
      plain.a.seal(utf8('x'));
    }
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(rekeyed.a.stats().rekeys).toBe(3);
    expect(rekeyed.b.stats().rekeys).toBe(3);
  });

  it('REKEY changes the key: a receiver that does not rekey fails on the 4th message', () => {
    const k1 = provider.randomBytes(32);
    const mk = (k: Uint8Array) => {
      const c = new CipherState(provider);
      c.initializeKey(k);
      return c;
    };
    const h = new Uint8Array(32);
    const a = createSecureSession({
      send: mk(k1),
      receive: mk(k1),
      handshakeHash: h,
      rekeyAfterMessages: 3,
    });
    const b = createSecureSession({
      send: mk(k1),
      receive: mk(k1),
      handshakeHash: h,
      rekeyAfterMessages: 0,
    });
    for (let i = 0; i < 3; i++) b.open(a.sealToBuffer(utf8('ok')), () => {});
    expectFatal(() => b.open(a.sealToBuffer(utf8('after rekey')), () => {}), DecryptError, b);
  });

  it('a flipped bit anywhere in a frame is fatal (DecryptError or MalformedFrameError)', () => {
    const frame = sessionPair(provider).a.sealToBuffer(utf8('payload'));
    for (let bit = 0; bit < frame.length * 8; bit += provider.name !== 'noble' ? 1 : 7) {
      const { a, b } = sessionPair(provider);
      const f = a.sealToBuffer(utf8('payload'));
      f[bit >> 3]! ^= 1 << (bit & 7);
      let threw: unknown;
      try {
        b.open(f, () => {
          throw new Error('a tampered frame was delivered');
        });
        b.end();
      } catch (err) {
        threw = err;
      }
      // A flipped length bit may announce a longer frame: then the stream ends inside it.
      expect(
        threw instanceof DecryptError ||
          threw instanceof MalformedFrameError ||
          threw instanceof TruncatedStreamError,
      ).toBe(true);
      expect(b.closed).toBe(true);
    }
  });

  it('a reordered frame is fatal', () => {
    const { a, b } = sessionPair(provider);
    const f1 = a.sealToBuffer(utf8('one'));
    const f2 = a.sealToBuffer(utf8('two'));
    void f1;
    expectFatal(() => b.open(f2, () => {}), DecryptError, b);
  });

  it('a replayed frame is fatal', () => {
    const { a, b } = sessionPair(provider);
    const f1 = a.sealToBuffer(utf8('one'));
    expect(openAll(b, f1)).toEqual(['one']);
    expectFatal(() => b.open(f1, () => {}), DecryptError, b);
  });

  it('a frame whose length was shortened is fatal', () => {
    const { a, b } = sessionPair(provider);
    const f = a.sealToBuffer(utf8('payload'));
    const cut = Buffer.concat([
      Buffer.from([0, f.readUInt16BE(0) - 1]),
      f.subarray(2, f.length - 1),
    ]);
    expectFatal(() => b.open(cut, () => {}), DecryptError, b);
  });

  it('a stream that ends inside a frame is fatal (TruncatedStreamError)', () => {
    const { a, b } = sessionPair(provider);
    const f = a.sealToBuffer(utf8('payload'));
    b.open(f.subarray(0, f.length - 3), () => {});
    expect(b.pendingPartialFrame).toBe(true);
    expectFatal(() => b.end(), TruncatedStreamError, b);
  });

  it('a length below the tag size is fatal (MalformedFrameError)', () => {
    const { b } = sessionPair(provider);
    expectFatal(() => b.open(Buffer.from([0, 15]), () => {}), MalformedFrameError, b);
  });

  it('opens from one reused read buffer when the partial frame is detached after each read (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 20 }),
        (sizes, cuts) => {
          const { a, b } = sessionPair(provider);
          const messages = sizes.map((n) => provider.randomBytes(Math.min(n, MAX_PLAINTEXT_BYTES)));
          const wire = Buffer.concat(messages.map((m) => a.sealToBuffer(m)));
          // Every read lands in the same memory, as a socket reading into a shared buffer does.
          const readBuffer = Buffer.alloc(40_000);
          const got: string[] = [];
          let o = 0;
          let i = 0;
          while (o < wire.length) {
            const n = wire.copy(readBuffer, 0, o, o + cuts[i++ % cuts.length]!);
            b.open(readBuffer.subarray(0, n), (p) => {
              expect(p.buffer).not.toBe(readBuffer.buffer);
              got.push(toHex(p));
            });
            b.detachPartialFrame();
            readBuffer.fill(0xa5); // the next read overwrites it
            o += n;
          }
          b.end();
          expect(got).toEqual(messages.map((m) => toHex(m)));
        },
      ),
      { numRuns: provider.name !== 'noble' ? 40 : 8 },
    );
  });

  it('a frame trickled in byte by byte and detached after each byte opens intact', () => {
    const { a, b } = sessionPair(provider);
    const m = provider.randomBytes(5000);
    const wire = a.sealToBuffer(m);
    const one = Buffer.alloc(1);
    const got: Uint8Array[] = [];
    for (const byte of wire) {
      one[0] = byte;
      b.open(one, (p) => got.push(p));
      b.detachPartialFrame();
    }
    expect(got.map((p) => toHex(p))).toEqual([toHex(m)]);
    expect(b.pendingPartialFrame).toBe(false);
  });

  it('seals into a buffer at an offset, byte-identical to seal()', () => {
    const key1 = sessionPair(provider);
    const m = [utf8('head '), Buffer.alloc(40_000, 0x33)];
    const out = Buffer.alloc(5 + 40_005 + 18, 0xee);
    expect(key1.a.sealInto(m, out, 5)).toBe(40_005 + 18);
    expect(out.subarray(0, 5).equals(Buffer.alloc(5, 0xee))).toBe(true);
    const got: string[] = [];
    key1.b.open(out.subarray(5), (p) => got.push(Buffer.from(p).subarray(0, 5).toString()));
    expect(got).toEqual(['head ']);
    expect(key1.a.stats()).toMatchObject({ messagesSent: 1, bytesSealed: 40_005 });
    expect(() => key1.a.sealInto(m, out, 6)).toThrow(RangeError);
    expect(key1.a.closed).toBe(false);
  });

  it('seal after close throws ClosedError', () => {
    const { a } = sessionPair(provider);
    a.close();
    expect(() => a.seal(utf8('x'))).toThrow(ClosedError);
  });
});

describe('secure session across providers', () => {
  const byName = (n: string) => PROVIDERS.find(([name]) => name === n)![1];
  it.each([
    ['node', 'noble'],
    ['sodium', 'node'],
    ['sodium', 'noble'],
  ])('%s seals, %s opens, and back; the same keys give byte-identical frames', (na, nb) => {
    const [pa, pb] = [byName(na), byName(nb)];
    const x = sessionPair(pa, 2, pb);
    for (let i = 0; i < 6; i++) {
      expect(openAll(x.b, x.a.sealToBuffer(utf8(`to ${nb} ${i}`)))).toEqual([`to ${nb} ${i}`]);
      expect(openAll(x.a, x.b.sealToBuffer(utf8(`to ${na} ${i}`)))).toEqual([`to ${na} ${i}`]);
    }
    // The same key and nonce sequence on both providers gives byte-identical frames.
    const key = pa.randomBytes(32);
    const frames = [pa, pb].map((p) => {
      const send = new CipherState(p);
      send.initializeKey(key);
      const recv = new CipherState(p);
      recv.initializeKey(key);
      const s = createSecureSession({
        send,
        receive: recv,
        handshakeHash: new Uint8Array(32),
        rekeyAfterMessages: 2,
      });
      // Short messages, and long ones (node:crypto's path inside the sodium provider), in parts.
      const long = Buffer.alloc(20_000, 0x42);
      return [0, 1, 2, 3, 4, 5, 6].map((i) =>
        toHex(s.sealToBuffer(i < 5 ? [utf8('part '), utf8(String(i))] : [long, utf8(String(i))])),
      );
    });
    expect(frames[0]).toEqual(frames[1]);
    // Long messages across providers, opened from split chunks.
    for (const size of [8191, 8192, 8193, 30_000, 65_519]) {
      const m = Buffer.alloc(size, size & 0xff);
      const frame = x.a.sealToBuffer([m.subarray(0, 100), m.subarray(100)]);
      const got: Uint8Array[] = [];
      x.b.open(frame.subarray(0, 5000), (p) => got.push(p));
      x.b.open(frame.subarray(5000), (p) => got.push(p));
      expect(Buffer.concat(got).equals(m)).toBe(true);
    }
  });
});
