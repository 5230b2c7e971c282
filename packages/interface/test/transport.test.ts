import { describe, expect, it } from '@jest/globals';
import {
  DetrError,
  ProtocolViolationError,
  StreamLimitError,
  StreamRefusedError,
  StreamResetError,
  UnknownProtocolError,
} from '../src/index.js';

describe('transport errors', () => {
  it.each([
    [new StreamResetError(), 'StreamResetError', 'STREAM_RESET'],
    [new UnknownProtocolError('/x/1'), 'UnknownProtocolError', 'UNKNOWN_PROTOCOL'],
    [new StreamRefusedError(), 'StreamRefusedError', 'STREAM_REFUSED'],
    [new StreamLimitError(100), 'StreamLimitError', 'STREAM_LIMIT'],
    [new ProtocolViolationError('bad frame'), 'ProtocolViolationError', 'PROTOCOL_VIOLATION'],
  ])('%s has a stable name and code', (err, name, code) => {
    expect(err).toBeInstanceOf(DetrError);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
  });

  it('carries its details', () => {
    expect(new UnknownProtocolError('/detr/x/1').protocol).toBe('/detr/x/1');
    expect(new UnknownProtocolError('/detr/x/1').message).toContain('"/detr/x/1"');
    expect(new StreamLimitError(7).limit).toBe(7);
    expect(new StreamResetError('local', false).remote).toBe(false);
    expect(new StreamResetError().remote).toBe(true);
    const cause = new Error('decoder');
    expect(new ProtocolViolationError('x', { cause }).cause).toBe(cause);
  });
});
