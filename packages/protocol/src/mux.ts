// The hot path of the stream multiplexer: MuxData frames written as a small header followed by a
// payload that is never copied, and decoded into a view of the payload.
//
// A MuxData body is `0x08 varint(streamId)` then `0x12 varint(payload.length) payload` (field
// order puts the payload last; proto3 omits an empty payload), so everything before the payload
// depends only on the stream id and the payload length.
import { InvalidFieldError, MalformedError, TruncatedError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION } from './constants.js';
import type { EncodeFrameOptions } from './frame.js';
import type { MuxData } from './gen/types.js';
import { MessageType } from './gen/types.js';
import { varintLength, writeVarint } from './varint.js';

const TYPE = MessageType.MuxData;
/** Schema limit of MuxData.payload. */
const MAX_PAYLOAD = 16_777_216;
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * The bytes a full `encodeFrame(MessageType.MuxData, { streamId, payload })` puts before the
 * payload: frame length, version, type, stream id and payload length. Write it, then the payload
 * itself (e.g. `socket.cork(); write(header); write(payload); uncork()`), without concatenating.
 *
 * @throws {RangeError} for a stream id outside 1..2^32-1, a negative length, or a frame above
 *   `maxFrameBytes` (default 1 MiB)
 * @example
 * ```ts
 * const header = encodeDataHeader(streamId, payload.length)
 * channel.writev([header, payload])
 * ```
 */
export function encodeDataHeader(
  streamId: number,
  payloadBytes: number,
  options?: EncodeFrameOptions,
): Uint8Array {
  const headerBytes = dataHeaderLength(streamId, payloadBytes, options);
  const header = new Uint8Array(headerBytes);
  writeDataHeader(header, streamId, payloadBytes, options);
  return header;
}

/** Checks the arguments; returns the header length. */
function dataHeaderLength(
  streamId: number,
  payloadBytes: number,
  options?: EncodeFrameOptions,
): number {
  if (!Number.isInteger(streamId) || streamId < 1 || streamId > 0xffff_ffff) {
    throw new RangeError('streamId must be an integer in 1..2^32-1');
  }
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > MAX_PAYLOAD) {
    throw new RangeError(`payloadBytes must be an integer in 0..${MAX_PAYLOAD}`);
  }
  const version = options?.version ?? PROTOCOL_VERSION;
  if (!Number.isInteger(version) || version < 1 || version > 0xffff_ffff) {
    throw new RangeError('protocol versions are integers in 1..2^32-1');
  }
  const maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const beforePayload =
    varintLength(version) +
    varintLength(TYPE) +
    1 +
    varintLength(streamId) +
    (payloadBytes === 0 ? 0 : 1 + varintLength(payloadBytes));
  const content = beforePayload + payloadBytes;
  if (content > maxFrameBytes) {
    throw new RangeError(`frame of ${content} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
  }
  return varintLength(content) + beforePayload;
}

/** Writes the (already checked) header at the start of `buf`; returns its length. */
function writeDataHeader(
  buf: Uint8Array,
  streamId: number,
  payloadBytes: number,
  options?: EncodeFrameOptions,
): number {
  const version = options?.version ?? PROTOCOL_VERSION;
  const beforePayload =
    varintLength(version) +
    varintLength(TYPE) +
    1 +
    varintLength(streamId) +
    (payloadBytes === 0 ? 0 : 1 + varintLength(payloadBytes));
  let p = writeVarint(buf, 0, beforePayload + payloadBytes);
  p = writeVarint(buf, p, version);
  p = writeVarint(buf, p, TYPE);
  buf[p++] = 0x08;
  p = writeVarint(buf, p, streamId);
  if (payloadBytes > 0) {
    buf[p++] = 0x12;
    p = writeVarint(buf, p, payloadBytes);
  }
  return p;
}

/**
 * Encodes a whole MuxData frame (header and payload in one new buffer). The zero-copy path is
 * {@link encodeDataHeader}.
 *
 * @throws {TypeError} when `payload` is not a Uint8Array
 * @throws {RangeError} as {@link encodeDataHeader}
 * @example
 * ```ts
 * socket.write(encodeDataFrame(1, payload))
 * ```
 */
export function encodeDataFrame(
  streamId: number,
  payload: Uint8Array,
  options?: EncodeFrameOptions,
): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const headerBytes = dataHeaderLength(streamId, payload.length, options);
  const out = new Uint8Array(headerBytes + payload.length);
  writeDataHeader(out, streamId, payload.length, options);
  out.set(payload, headerBytes);
  return out;
}

/** Read position of {@link readVarint} (module state keeps the hot path allocation-free). */
let cursor = 0;

function readVarint(body: Uint8Array): number {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor >= body.length) {
      throw new TruncatedError('input ends inside a varint', { messageName: 'MuxData' });
    }
    const b = body[cursor++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value;
    mul *= 128;
  }
  throw new MalformedError('varint longer than 10 bytes', { messageName: 'MuxData' });
}

function invalid(field: string, why: string): InvalidFieldError {
  return new InvalidFieldError(`MuxData.${field}: ${why}`, {
    messageName: 'MuxData',
    field: `MuxData.${field}`,
  });
}

/**
 * Decodes a MuxData body (a frame's `body`) without copying the payload: `payload` is a view
 * into `body`. Accepts and rejects exactly what `MuxData.decode` does (unknown fields skipped).
 *
 * @throws {ProtocolError} on any invalid body; never anything else
 * @example
 * ```ts
 * if (frame.type === MessageType.MuxData) {
 *   const { streamId, payload } = decodeMuxData(frame.body)
 * }
 * ```
 */
export function decodeMuxData(body: Uint8Array): MuxData {
  if (!(body instanceof Uint8Array)) throw new TypeError('body must be a Uint8Array');
  // Common case first: exactly `08 <id> 12 <len> payload` with small varints.
  const end = body.length;
  if (end >= 4 && body[0] === 0x08 && body[1]! > 0 && body[1]! < 0x80 && body[2] === 0x12) {
    const b3 = body[3]!;
    if (b3 < 0x80 && b3 > 0 && 4 + b3 === end)
      return { streamId: body[1]!, payload: body.subarray(4) };
  }
  let streamId = 0;
  let payload: Uint8Array = EMPTY;
  cursor = 0;
  while (cursor < end) {
    const tag = readVarint(body);
    if (tag > 0xffff_ffff)
      throw new MalformedError('tag exceeds 32 bits', { messageName: 'MuxData' });
    const id = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (id === 0) throw new MalformedError('field number 0', { messageName: 'MuxData' });
    if (id === 1) {
      if (wireType !== 0) throw invalid('streamId', `wire type ${wireType} for a uint32`);
      const v = readVarint(body);
      if (v > 0xffff_ffff) throw invalid('streamId', 'value exceeds 2^32 - 1');
      streamId = v;
      continue;
    }
    if (id === 2) {
      if (wireType !== 2) throw invalid('payload', `wire type ${wireType} for a bytes`);
      const len = readVarint(body);
      if (len > end - cursor) {
        throw new TruncatedError('MuxData.payload: value runs past the end', {
          messageName: 'MuxData',
          field: 'MuxData.payload',
        });
      }
      if (len > MAX_PAYLOAD) throw invalid('payload', `longer than ${MAX_PAYLOAD} bytes`);
      payload = len === 0 ? EMPTY : body.subarray(cursor, cursor + len);
      cursor += len;
      continue;
    }
    // Unknown field: skip it.
    switch (wireType) {
      case 0:
        readVarint(body);
        break;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (end - cursor < size) {
          throw new TruncatedError('input ends inside a fixed-size value', {
            messageName: 'MuxData',
          });
        }
        cursor += size;
        break;
      }
      case 2: {
        const len = readVarint(body);
        if (len > end - cursor) {
          throw new TruncatedError('length-delimited value runs past the end', {
            messageName: 'MuxData',
          });
        }
        cursor += len;
        break;
      }
      default:
        throw new MalformedError(`unsupported wire type ${wireType}`, { messageName: 'MuxData' });
    }
  }
  if (streamId === 0) throw invalid('streamId', 'required');
  return { streamId, payload };
}
