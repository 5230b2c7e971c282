// Property tests (fast-check) over every message of the schema: round trips, random and mutated
// bytes into every decoder (only ProtocolError may come out), chunk-boundary independence of the
// streaming frame decoder, and the MuxData fast path against the generic decoder.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  MessageType,
  MuxData,
  ProtocolError,
  TYPE_CODES,
  codecForName,
  createFrameDecoder,
  decodeFrame,
  decodeMuxData,
  encodeDataHeader,
  encodeFrame,
} from '../src/index.js';
import type { Frame } from '../src/index.js';
import { MESSAGE_NAMES, messageArb, mutate } from './fixtures/arbitraries.js';
import { SAMPLES } from './fixtures/samples.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Runs `fn`; a thrown ProtocolError is an accepted outcome, anything else fails the property. */
function onlyProtocolErrors<T>(fn: () => T): T | ProtocolError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw new Error(`non-ProtocolError thrown: ${String(err)}`, { cause: err });
  }
}

describe('round trip: encode → decode → encode, every message', () => {
  for (const name of MESSAGE_NAMES) {
    it(name, () => {
      const codec = codecForName(name);
      fc.assert(
        fc.property(messageArb(name), (value) => {
          const bytes = codec.encode(value);
          const decoded = codec.decode(bytes) as Record<string, unknown>;
          expect(decoded).toMatchObject(value);
          expect(hex(codec.encode(decoded))).toBe(hex(bytes));
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe('hostile bytes into every message decoder', () => {
  for (const name of MESSAGE_NAMES) {
    it(`${name}: random and mutated inputs give a valid message or a ProtocolError`, () => {
      const codec = codecForName(name);
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 96 }),
        messageArb(name).chain((v) => mutate(codec.encode(v))),
      );
      fc.assert(
        fc.property(input, (bytes) => {
          const r = onlyProtocolErrors(() => codec.decode(bytes));
          if (!(r instanceof ProtocolError)) {
            // Whatever the decoder accepts, the encoder accepts, and it decodes the same again.
            const again = codec.encode(r);
            expect(codec.decode(again)).toEqual(r);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});

const sampleFrames = SAMPLES.map((s) => encodeFrame(s.type, s.value));
const frameArb = fc.constantFrom(...sampleFrames);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given (unsorted, possibly repeated) positions. */
function cut(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

const sameFrame = (f: Frame): [number, number, string] => [f.version, f.type, hex(f.body)];

describe('streaming frame decoder', () => {
  it('yields the same frames whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const stream = concat(frames);
          const decoder = createFrameDecoder();
          const out: Frame[] = [];
          for (const chunk of cut(stream, cuts)) out.push(...decoder.push(chunk));
          decoder.end();
          expect(out.map(sameFrame)).toEqual(frames.map((f) => sameFrame(decodeFrame(f))));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts one byte at a time', () => {
    const stream = concat(sampleFrames);
    const decoder = createFrameDecoder();
    const out: Frame[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    decoder.end();
    expect(out.map(sameFrame)).toEqual(sampleFrames.map((f) => sameFrame(decodeFrame(f))));
  });

  it('random and mutated streams give frames or a ProtocolError, never more than one frame buffered', () => {
    const maxFrameBytes = 64;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.array(frameArb, { minLength: 1, maxLength: 4 }).chain((fs) => mutate(concat(fs))),
        ),
        fc.array(fc.nat(), { maxLength: 20 }),
        (stream, cuts) => {
          const decoder = createFrameDecoder({ maxFrameBytes });
          let failed = false;
          for (const chunk of cut(stream, cuts)) {
            const r = onlyProtocolErrors(() => decoder.push(chunk));
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrameBytes + 5);
            if (r instanceof ProtocolError) {
              failed = true;
              // A failed decoder stays failed with the same error.
              expect(onlyProtocolErrors(() => decoder.push(new Uint8Array([1])))).toBe(r);
              break;
            }
            for (const f of r) onlyProtocolErrors(() => codecForType(f.type).decode(f.body));
          }
          if (!failed) onlyProtocolErrors(() => decoder.end());
        },
      ),
      { numRuns: 400 },
    );
  });
});

import { codecForType } from '../src/index.js';

describe('MuxData fast path', () => {
  it('encodeDataHeader + payload equals the full frame encoding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n)),
        ),
        fc.integer({ min: 1, max: 300 }),
        (streamId, payload, version) => {
          const full = encodeFrame(MessageType.MuxData, { streamId, payload }, { version });
          const header = encodeDataHeader(streamId, payload.length, { version });
          expect(hex(concat([header, payload]))).toBe(hex(full));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodeMuxData agrees with MuxData.decode on valid, random and mutated bodies', () => {
    const valid = fc
      .record({
        streamId: fc.integer({ min: 1, max: 0xffff_ffff }),
        payload: fc.uint8Array({ maxLength: 64 }),
      })
      .map((v) => MuxData.encode(v));
    fc.assert(
      fc.property(
        fc.oneof(valid, fc.uint8Array({ maxLength: 40 }), valid.chain(mutate)),
        (body) => {
          const fast = onlyProtocolErrors(() => decodeMuxData(body));
          const slow = onlyProtocolErrors(() => MuxData.decode(body));
          if (fast instanceof ProtocolError || slow instanceof ProtocolError) {
            expect([
              fast instanceof ProtocolError,
              fast instanceof ProtocolError ? fast.code : '',
            ]).toEqual([
              slow instanceof ProtocolError,
              slow instanceof ProtocolError ? slow.code : '',
            ]);
          } else {
            expect(fast).toEqual(slow);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every frame type code is accepted by the default decoder', () => {
    for (const t of TYPE_CODES) expect(codecForType(t).typeCode).toBe(t);
  });
});
