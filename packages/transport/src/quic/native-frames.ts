// Reading detr frames from native QUIC streams: one header frame followed by raw bytes (data
// streams), or a sequence of frames (the control stream).
import type { Frame } from '@detr/protocol';
import { FrameTooLargeError, MalformedError } from '@detr/protocol';
import { CheckedDecoder, decodeCheckedFrame, type FrameRules } from '../frames.js';
import type { NativeStream } from './binding.js';

/**
 * Reads exactly one frame from the start of `stream`, and the bytes that came after it in the
 * same reads. Resolves undefined when the stream ends first.
 *
 * @throws {ProtocolError} for a malformed or oversized frame
 */
export async function readHeaderFrame(
  stream: NativeStream,
  options: FrameRules,
): Promise<{ frame: Frame; rest: Uint8Array } | undefined> {
  let buf: Uint8Array = new Uint8Array(0);
  for (;;) {
    const chunk = await stream.read(512);
    if (chunk === null) return undefined;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    // Length prefix (a varint; the decoder re-checks it).
    let len = 0;
    let mul = 1;
    let i = 0;
    for (; i < buf.length && i < 5; i++) {
      const b = buf[i] as number;
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (i === buf.length) {
      if (buf.length >= 5) throw new MalformedError('frame length longer than 5 bytes');
      continue;
    }
    if (len > options.maxFrameBytes) throw new FrameTooLargeError(len, options.maxFrameBytes);
    const end = i + 1 + len;
    if (buf.length < end) continue;
    return { frame: decodeCheckedFrame(buf.subarray(0, end), options), rest: buf.subarray(end) };
  }
}

/**
 * Reads frames from `stream` until it ends, calling `onFrame` for each.
 *
 * @throws {ProtocolError} for malformed framing; rejects with the native error on a reset
 */
export async function readFrames(
  stream: NativeStream,
  first: Uint8Array | undefined,
  options: FrameRules,
  onFrame: (frame: Frame) => boolean,
): Promise<void> {
  const decoder = new CheckedDecoder(options);
  if (first !== undefined && first.length > 0) {
    for (const f of decoder.push(first)) if (!onFrame(f)) return;
  }
  for (;;) {
    const chunk = await stream.read(4096);
    if (chunk === null) {
      decoder.end();
      return;
    }
    for (const f of decoder.push(chunk)) if (!onFrame(f)) return;
  }
}
