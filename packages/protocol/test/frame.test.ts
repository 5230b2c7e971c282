import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameTooLargeError,
  MessageType,
  MsgData,
  ProtocolError,
  UnknownTypeError,
  UnsupportedVersionError,
  decodeFrame,
  decodeFrameBody,
  decodeMessage,
  decodeMuxData,
  encodeDataFrame,
  encodeDataHeader,
  encodeFrame,
  encodeFrameHeader,
} from '../src/index.js';
import { bytes } from './fixtures/samples.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('frame layout', () => {
  it('frames a 100-byte MuxData with 7 header bytes (hand-checked)', () => {
    const payload = bytes(100);
    const frame = encodeFrame(MessageType.MuxData, { streamId: 1, payload });
    // 0x6a = 106 content bytes; version 1; type 0x11 = 17 (MuxData); field 1 varint 1;
    // field 2 length-delimited, 0x64 = 100 bytes.
    expect(hex(frame.subarray(0, 7))).toBe('6a01110801' + '1264');
    expect(frame.length - payload.length).toBe(7);
    expect(hex(encodeDataHeader(1, 100))).toBe('6a011108011264');
  });

  it('frames a 64 KiB MuxData with 11 header bytes', () => {
    // 65,544 content bytes = 0x88 0x80 0x04.
    expect(hex(encodeDataHeader(1, 65_536))).toBe('888004' + '01' + '11' + '0801' + '12808004');
  });

  it('round-trips header, version and type', () => {
    const frame = encodeFrame(MessageType.MuxFin, { streamId: 300 }, { version: 2 });
    expect(hex(frame)).toBe('05' + '02' + '12' + '08ac02');
    const decoded = decodeFrame(frame, { versions: [1, 2] });
    expect(decoded.version).toBe(2);
    expect(decoded.type).toBe(MessageType.MuxFin);
    expect(decodeFrameBody(decoded)).toEqual({
      type: MessageType.MuxFin,
      message: { streamId: 300 },
    });
    expect(decodeMessage(MessageType.MuxFin, decoded.body)).toEqual({ streamId: 300 });
  });

  it('writes a header for a separately sent body, equal to a full encoding', () => {
    const body = MsgData.encode({ channel: 'c', seq: 1, payload: bytes(500) });
    const header = encodeFrameHeader(MessageType.MsgData, body.length);
    const full = encodeFrame(MessageType.MsgData, { channel: 'c', seq: 1, payload: bytes(500) });
    expect(hex(header) + hex(body)).toBe(hex(full));
  });
});

describe('decodeFrame errors', () => {
  const good = encodeFrame(MessageType.MuxFin, { streamId: 1 });

  it('TRUNCATED when the input ends inside the frame or its length', () => {
    expect(errorOf(() => decodeFrame(good.subarray(0, good.length - 1))).code).toBe('TRUNCATED');
    expect(errorOf(() => decodeFrame(new Uint8Array(0))).code).toBe('TRUNCATED');
    expect(errorOf(() => decodeFrame(fromHex('80'))).code).toBe('TRUNCATED');
  });

  it('FRAME_TOO_LARGE from the length prefix alone, before the body arrives', () => {
    const err = errorOf(() => decodeFrame(fromHex('8180 40'))); // 1 MiB + 1
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect((err as FrameTooLargeError).frameBytes).toBe(DEFAULT_MAX_FRAME_BYTES + 1);
    expect(errorOf(() => decodeFrame(fromHex('ffffffff0f'))).code).toBe('FRAME_TOO_LARGE');
    expect(errorOf(() => decodeFrame(fromHex('21'), { maxFrameBytes: 32 })).code).toBe(
      'FRAME_TOO_LARGE',
    );
  });

  it('MALFORMED for a non-minimal length, a frame too short for its header, or trailing bytes', () => {
    expect(errorOf(() => decodeFrame(fromHex('8500 0112 0801'))).code).toBe('MALFORMED');
    expect(errorOf(() => decodeFrame(fromHex('0101'))).code).toBe('MALFORMED');
    expect(errorOf(() => decodeFrame(Uint8Array.from([...good, 0]))).code).toBe('MALFORMED');
    expect(errorOf(() => decodeFrame(fromHex('04 8100 1208'))).code).toBe('MALFORMED'); // version 0x80 0x00
  });

  it('UNSUPPORTED_VERSION names the version and the accepted ones', () => {
    const v2 = encodeFrame(MessageType.MuxFin, { streamId: 1 }, { version: 2 });
    const err = errorOf(() => decodeFrame(v2));
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect((err as UnsupportedVersionError).version).toBe(2);
    expect((err as UnsupportedVersionError).supportedVersions).toEqual([1]);
  });

  it('UNKNOWN_TYPE for a code outside the schema or outside `types`', () => {
    const err = errorOf(() => decodeFrame(fromHex('03 01 8f01')));
    expect(err).toBeInstanceOf(UnknownTypeError);
    expect((err as UnknownTypeError).typeCode).toBe(143);
    const mux = [MessageType.MuxData, MessageType.MuxFin];
    expect(decodeFrame(good, { types: mux }).type).toBe(MessageType.MuxFin);
    const msg = encodeFrame(MessageType.MsgPing, {});
    expect(errorOf(() => decodeFrame(msg, { types: mux })).code).toBe('UNKNOWN_TYPE');
  });
});

describe('encoder limits and option checks', () => {
  it('refuses to encode a frame above maxFrameBytes', () => {
    expect(() =>
      encodeFrame(MessageType.MuxData, { streamId: 1, payload: bytes(DEFAULT_MAX_FRAME_BYTES) }),
    ).toThrow(RangeError);
    expect(() => encodeDataHeader(1, DEFAULT_MAX_FRAME_BYTES)).toThrow(RangeError);
    expect(() => encodeFrameHeader(MessageType.MsgData, 2000, { maxFrameBytes: 1000 })).toThrow(
      RangeError,
    );
    // 8 bytes of version, type, stream id and payload length fit beside the payload.
    expect(encodeDataHeader(1, DEFAULT_MAX_FRAME_BYTES - 8)).toHaveLength(11);
    expect(() => encodeDataHeader(1, DEFAULT_MAX_FRAME_BYTES - 7)).toThrow(RangeError);
  });

  it('validates options and arguments with RangeError', () => {
    expect(() => decodeFrame(new Uint8Array(2), { maxFrameBytes: 1 })).toThrow(RangeError);
    expect(() => decodeFrame(new Uint8Array(2), { maxFrameBytes: 2 ** 40 })).toThrow(RangeError);
    expect(() => decodeFrame(new Uint8Array(2), { versions: [] })).toThrow(RangeError);
    expect(() => decodeFrame(new Uint8Array(2), { versions: [0] })).toThrow(RangeError);
    expect(() => encodeFrame(MessageType.MuxFin, { streamId: 1 }, { version: 0 })).toThrow(
      RangeError,
    );
    expect(() => encodeFrame(0 as MessageType, { streamId: 1 })).toThrow(RangeError);
    expect(() => encodeFrame(9999 as MessageType, {})).toThrow(UnknownTypeError);
    expect(() => encodeDataHeader(0, 1)).toThrow(RangeError);
    expect(() => encodeDataHeader(1, -1)).toThrow(RangeError);
  });
});

describe('MuxData zero copy', () => {
  it('decodes a 64 KiB data frame into a view of the frame (no copy)', () => {
    const payload = bytes(65_536, 9);
    const frame = encodeDataFrame(7, payload);
    const { body } = decodeFrame(frame);
    const data = decodeMuxData(body);
    expect(data.streamId).toBe(7);
    expect(data.payload.buffer).toBe(frame.buffer);
    expect(data.payload.byteOffset).toBe(frame.byteOffset + 11);
    expect(hex(data.payload)).toBe(hex(payload));
  });

  it('encodes an empty payload without a payload field, as protobuf does', () => {
    expect(hex(encodeDataHeader(300, 0))).toBe('05011108ac02');
    expect(decodeMuxData(decodeFrame(encodeDataHeader(300, 0)).body)).toEqual({
      streamId: 300,
      payload: new Uint8Array(0),
    });
  });
});
