import { describe, expect, it } from '@jest/globals';
import { DetrError } from '@detr/interface';
import {
  FrameTooLargeError,
  InvalidFieldError,
  MalformedError,
  MuxData,
  NoCommonVersionError,
  ProtocolError,
  TruncatedError,
  UnknownTypeError,
  UnsupportedVersionError,
} from '../src/index.js';
import { toProtocolError } from '../src/errors.js';

describe('error classes', () => {
  const cases: [ProtocolError, string, string][] = [
    [new FrameTooLargeError(2000, 1000), 'FrameTooLargeError', 'FRAME_TOO_LARGE'],
    [new TruncatedError(), 'TruncatedError', 'TRUNCATED'],
    [new UnknownTypeError(99), 'UnknownTypeError', 'UNKNOWN_TYPE'],
    [
      new InvalidFieldError('x', { field: 'A.b', messageName: 'A' }),
      'InvalidFieldError',
      'INVALID_FIELD',
    ],
    [new MalformedError('x'), 'MalformedError', 'MALFORMED'],
    [new UnsupportedVersionError(3, [1]), 'UnsupportedVersionError', 'UNSUPPORTED_VERSION'],
    [new NoCommonVersionError([1], [2]), 'NoCommonVersionError', 'NO_COMMON_VERSION'],
  ];

  it.each(cases)(
    '%s has a stable name and code and is a ProtocolError and a DetrError',
    (err, name, code) => {
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err).toBeInstanceOf(DetrError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
    },
  );

  it('carries the details callers need', () => {
    const big = new FrameTooLargeError(2000, 1000);
    expect([big.frameBytes, big.maxFrameBytes]).toEqual([2000, 1000]);
    expect(new UnknownTypeError(99).typeCode).toBe(99);
    const f = new InvalidFieldError('x', { field: 'A.b', messageName: 'A' });
    expect([f.field, f.messageName]).toEqual(['A.b', 'A']);
  });

  it('wraps foreign errors from third-party decoders', () => {
    expect(toProtocolError(new RangeError('index out of range: 3 + 10 > 5')).code).toBe(
      'TRUNCATED',
    );
    expect(toProtocolError(new Error('invalid wire type 7')).code).toBe('MALFORMED');
    expect(toProtocolError('not an error').code).toBe('MALFORMED');
    const own = new TruncatedError();
    expect(toProtocolError(own)).toBe(own);
    const wrapped = toProtocolError(new Error('boom'), 'MuxData');
    expect(wrapped.messageName).toBe('MuxData');
    expect(wrapped.cause).toBeInstanceOf(Error);
  });

  it('treats a non-bytes argument as a programming error (TypeError), not remote input', () => {
    expect(() => MuxData.decode('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
