import { describe, expect, it } from '@jest/globals';
import {
  FrameTooLargeError,
  MessageType,
  ProtocolError,
  TruncatedError,
  createFrameDecoder,
  decodeFrames,
  encodeDataFrame,
  encodeFrame,
} from '../src/index.js';
import type { Frame } from '../src/index.js';
import { bytes } from './fixtures/samples.js';

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('createFrameDecoder', () => {
  it('returns several frames from one chunk as views into it', () => {
    const a = encodeDataFrame(1, bytes(10));
    const b = encodeFrame(MessageType.MuxFin, { streamId: 1 });
    const chunk = Uint8Array.from([...a, ...b]);
    const frames = createFrameDecoder().push(chunk);
    expect(frames.map((f) => f.type)).toEqual([MessageType.MuxData, MessageType.MuxFin]);
    for (const f of frames) expect(f.body.buffer).toBe(chunk.buffer);
  });

  it('reassembles a frame split across chunks in one buffer of exactly its size', () => {
    const frame = encodeDataFrame(1, bytes(1000));
    const d = createFrameDecoder();
    expect(d.push(frame.subarray(0, 1))).toEqual([]);
    expect(d.bufferedBytes).toBe(1);
    expect(d.push(frame.subarray(1, 500))).toEqual([]);
    expect(d.bufferedBytes).toBe(498);
    const [f] = d.push(frame.subarray(500));
    expect(d.bufferedBytes).toBe(0);
    expect(f!.body.buffer.byteLength).toBe(frame.length - 2); // content only, no prefix
    expect(f!.body.buffer).not.toBe(frame.buffer);
  });

  it('fails on an oversized length prefix before buffering anything of the frame', () => {
    const d = createFrameDecoder({ maxFrameBytes: 1024 });
    // 2^28: the second continuation byte already proves the length exceeds 1024.
    expect(d.push(Uint8Array.of(0x80))).toEqual([]);
    const err = errorOf(() => d.push(Uint8Array.of(0x80)));
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(d.bufferedBytes).toBe(0);
  });

  it('fails on a length just above the limit, from the prefix alone', () => {
    const d = createFrameDecoder({ maxFrameBytes: 1024 });
    const err = errorOf(() => d.push(Uint8Array.of(0x81, 0x08))); // 1025
    expect(err.code).toBe('FRAME_TOO_LARGE');
    expect((err as FrameTooLargeError).frameBytes).toBe(1025);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    // version, type, stream id (2) and payload length (1 + 2) leave 1017 bytes of payload.
    const frame = encodeDataFrame(1, bytes(1017), { maxFrameBytes: 1024 });
    expect(() => encodeDataFrame(1, bytes(1018), { maxFrameBytes: 1024 })).toThrow(RangeError);
    const [f] = createFrameDecoder({ maxFrameBytes: 1024 }).push(frame);
    expect(f!.body.length).toBe(1022);
  });

  it('stays failed with the same error after a bad frame', () => {
    const d = createFrameDecoder();
    const err = errorOf(() => d.push(Uint8Array.of(0x02, 0x01, 0x7f)));
    expect(err.code).toBe('UNKNOWN_TYPE');
    expect(errorOf(() => d.push(encodeDataFrame(1, bytes(1))))).toBe(err);
    expect(errorOf(() => d.end())).toBe(err);
  });

  it('end() inside a frame is TRUNCATED; at a boundary it is fine', () => {
    const frame = encodeDataFrame(1, bytes(10));
    const d = createFrameDecoder();
    d.push(frame.subarray(0, 5));
    expect(errorOf(() => d.end())).toBeInstanceOf(TruncatedError);
    const ok = createFrameDecoder();
    ok.push(frame);
    expect(() => ok.end()).not.toThrow();
    expect(() => ok.push(frame)).toThrow(TypeError);
  });

  it('end() inside a length prefix is TRUNCATED', () => {
    const d = createFrameDecoder();
    d.push(Uint8Array.of(0x80));
    expect(errorOf(() => d.end()).code).toBe('TRUNCATED');
  });

  it('rejects a 6-byte length prefix as MALFORMED', () => {
    const d = createFrameDecoder({ maxFrameBytes: 256 * 1024 * 1024 });
    expect(errorOf(() => d.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).code).toBe(
      'FRAME_TOO_LARGE',
    );
    const big = createFrameDecoder({ maxFrameBytes: 256 * 1024 * 1024 });
    expect(errorOf(() => big.push(Uint8Array.of(0x81, 0x80, 0x80, 0x80, 0x00))).code).toBe(
      'MALFORMED',
    );
  });

  it('ignores empty chunks and rejects non-bytes', () => {
    const d = createFrameDecoder();
    expect(d.push(new Uint8Array(0))).toEqual([]);
    expect(() => d.push('x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('decodeFrames', () => {
  it('decodes an async byte stream', async () => {
    const frames = [
      encodeDataFrame(1, bytes(3)),
      encodeFrame(MessageType.MuxPing, { nonce: bytes(8) }),
    ];
    const all = Uint8Array.from(frames.flatMap((f) => [...f]));
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < all.length; i += 3) {
        await Promise.resolve();
        yield all.subarray(i, i + 3);
      }
    }
    const out: Frame[] = [];
    for await (const f of decodeFrames(source())) out.push(f);
    expect(out.map((f) => f.type)).toEqual([MessageType.MuxData, MessageType.MuxPing]);
  });

  it('throws TRUNCATED when the stream ends inside a frame', async () => {
    const frame = encodeDataFrame(1, bytes(3));
    const run = async (): Promise<void> => {
      for await (const _ of decodeFrames([frame.subarray(0, 4)])) {
        // nothing
      }
    };
    await expect(run()).rejects.toBeInstanceOf(TruncatedError);
  });
});
