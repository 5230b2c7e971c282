import { describe, expect, it } from '@jest/globals';
import { DetrError } from '@detr/interface';
import {
  HandshakePayload,
  NoCommonVersionError,
  ProtocolError,
  SUPPORTED_VERSIONS,
  negotiateVersion,
} from '../src/index.js';
import { bytes } from './fixtures/samples.js';

describe('negotiateVersion', () => {
  it('picks the highest common version, the same on both sides', () => {
    expect(negotiateVersion([1, 2, 3], [2, 3, 4])).toBe(3);
    expect(negotiateVersion([2, 3, 4], [1, 2, 3])).toBe(3);
    expect(negotiateVersion([1], [1])).toBe(1);
    expect(negotiateVersion(SUPPORTED_VERSIONS, [1])).toBe(1);
  });

  it('fails with a typed error naming both version sets', () => {
    let err: unknown;
    try {
      negotiateVersion([1, 2], [3, 4]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoCommonVersionError);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toBeInstanceOf(DetrError);
    const e = err as NoCommonVersionError;
    expect(e.code).toBe('NO_COMMON_VERSION');
    expect(e.name).toBe('NoCommonVersionError');
    expect(e.localVersions).toEqual([1, 2]);
    expect(e.remoteVersions).toEqual([3, 4]);
    expect(e.message).toContain('[1, 2]');
    expect(e.message).toContain('[3, 4]');
  });

  it('fails when the remote lists nothing (or nothing usable)', () => {
    expect(() => negotiateVersion([1], [])).toThrow(NoCommonVersionError);
    expect(() => negotiateVersion([1], [0, -1, 1.5])).toThrow(NoCommonVersionError);
  });

  it('rejects a bad local list with RangeError', () => {
    expect(() => negotiateVersion([], [1])).toThrow(RangeError);
    expect(() => negotiateVersion([0], [1])).toThrow(RangeError);
    expect(() => negotiateVersion([1.5], [1])).toThrow(RangeError);
  });

  it('works on the versions carried in a decoded handshake payload', () => {
    const payload = HandshakePayload.decode(
      HandshakePayload.encode({ identityKey: bytes(32), identitySig: bytes(64), versions: [1, 7] }),
    );
    expect(negotiateVersion([1, 2], payload.versions)).toBe(1);
  });
});
