// The schema rules every decoder enforces, one case each, built from hand-written protobuf bytes.
import { describe, expect, it } from '@jest/globals';
import {
  DhtRequest,
  DhtStoreRequest,
  GossipRpc,
  HandshakePayload,
  InvalidFieldError,
  MalformedError,
  MsgAck,
  MsgData,
  MuxData,
  MuxFin,
  MuxOpen,
  MuxReset,
  ProtocolError,
  RevocationList,
  TruncatedError,
} from '../src/index.js';
import { bytes } from './fixtures/samples.js';

/** Protobuf varint. */
function v(n: number | bigint): number[] {
  let x = BigInt(n);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number((x & 0x7fn) | 0x80n));
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const tag = (id: number, wire: number): number[] => v(id * 8 + wire);
const ld = (id: number, data: ArrayLike<number>): number[] => [
  ...tag(id, 2),
  ...v(data.length),
  ...Array.from(data),
];
const u8 = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('scalar values', () => {
  it('rejects a uint32 above 2^32 - 1 (protobufjs would truncate it)', () => {
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), v(2 ** 32))))).toBe('INVALID_FIELD');
    expect(MuxFin.decode(u8(tag(1, 0), v(2 ** 32 - 1)))).toEqual({ streamId: 2 ** 32 - 1 });
  });

  it('decodes uint64 up to 2^53 - 1 as a number and rejects larger values', () => {
    expect(MsgAck.decode(u8(tag(1, 0), v(Number.MAX_SAFE_INTEGER))).cumulativeSeq).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(codeOf(() => MsgAck.decode(u8(tag(1, 0), v(2n ** 53n))))).toBe('INVALID_FIELD');
    expect(codeOf(() => MsgAck.decode(u8(tag(1, 0), v(2n ** 64n - 1n))))).toBe('INVALID_FIELD');
  });

  it('rejects a bool other than 0 or 1', () => {
    expect(MuxOpen.decode(u8(tag(1, 0), v(1), ld(2, [0x61]), tag(3, 0), v(1))).unidirectional).toBe(
      true,
    );
    expect(codeOf(() => MuxOpen.decode(u8(tag(1, 0), v(1), ld(2, [0x61]), tag(3, 0), v(2))))).toBe(
      'INVALID_FIELD',
    );
  });

  it('rejects an unknown enum value, naming the field', () => {
    let err: unknown;
    try {
      MuxReset.decode(u8(tag(1, 0), v(1), tag(2, 0), v(99)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidFieldError);
    expect((err as InvalidFieldError).field).toBe('MuxReset.code');
    expect((err as InvalidFieldError).messageName).toBe('MuxReset');
  });

  it('rejects a missing required scalar', () => {
    expect(codeOf(() => MuxFin.decode(new Uint8Array(0)))).toBe('INVALID_FIELD');
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), v(0))))).toBe('INVALID_FIELD');
  });
});

describe('wire structure', () => {
  it('skips unknown fields of every wire type (forward compatibility)', () => {
    const known = u8(tag(1, 0), v(7));
    const unknown = u8(
      tag(15, 0),
      v(300),
      ld(16, [1, 2, 3]),
      tag(17, 5),
      [1, 2, 3, 4],
      tag(18, 1),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    expect(MuxFin.decode(u8([...known], [...unknown]))).toEqual({ streamId: 7 });
  });

  it('rejects a known field with the wrong wire type', () => {
    expect(codeOf(() => MuxFin.decode(u8(ld(1, [7]))))).toBe('INVALID_FIELD');
    expect(codeOf(() => MuxData.decode(u8(tag(1, 0), v(1), tag(2, 0), v(5))))).toBe(
      'INVALID_FIELD',
    );
  });

  it('rejects groups, field number 0, and varints over 10 bytes', () => {
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), v(1), tag(9, 3), tag(9, 4))))).toBe(
      'MALFORMED',
    );
    expect(codeOf(() => MuxFin.decode(u8(tag(0, 0), v(1))))).toBe('MALFORMED');
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), new Array<number>(10).fill(0x80), [1])))).toBe(
      'MALFORMED',
    );
    expect(codeOf(() => MuxFin.decode(u8(v(2n ** 33n))))).toBe('MALFORMED');
  });

  it('reports input that ends inside a value as TRUNCATED', () => {
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), [0x80])))).toBe('TRUNCATED');
    expect(codeOf(() => MuxData.decode(u8(tag(1, 0), v(1), tag(2, 2), v(10), [1, 2])))).toBe(
      'TRUNCATED',
    );
    expect(codeOf(() => MuxFin.decode(u8(tag(1, 0), v(1), tag(15, 5), [1])))).toBe('TRUNCATED');
    let err: unknown;
    try {
      MuxData.decode(u8(tag(1, 0), v(1), tag(2, 2), v(10)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TruncatedError);
  });

  it('accepts packed and unpacked repeated scalars alike', () => {
    const base = [...ld(1, bytes(32)), ...ld(2, bytes(64))];
    const packed = HandshakePayload.decode(u8(base, ld(4, [1, 2, 3])));
    const unpacked = HandshakePayload.decode(
      u8(base, tag(4, 0), v(1), tag(4, 0), v(2), tag(4, 0), v(3)),
    );
    expect(packed.versions).toEqual([1, 2, 3]);
    expect(unpacked.versions).toEqual([1, 2, 3]);
    expect(codeOf(() => HandshakePayload.decode(u8(base, ld(4, [1, 0x80]))))).toBe('TRUNCATED');
  });

  it('keeps the last value of a repeated singular field, as protobuf does', () => {
    expect(MuxFin.decode(u8(tag(1, 0), v(1), tag(1, 0), v(2)))).toEqual({ streamId: 2 });
  });

  it('throws only MalformedError subclasses of ProtocolError for garbage', () => {
    expect(() => MuxFin.decode(u8([0xff, 0xff]))).toThrow(ProtocolError);
    expect(new MalformedError('x')).toBeInstanceOf(ProtocolError);
  });
});

describe('lengths and counts', () => {
  const hp = (key: number, sig: number): Uint8Array => u8(ld(1, bytes(key)), ld(2, bytes(sig)));

  it('enforces exact byte lengths (keys, signatures)', () => {
    expect(HandshakePayload.decode(hp(32, 64)).identityKey).toHaveLength(32);
    expect(codeOf(() => HandshakePayload.decode(hp(31, 64)))).toBe('INVALID_FIELD');
    expect(codeOf(() => HandshakePayload.decode(hp(32, 65)))).toBe('INVALID_FIELD');
    expect(codeOf(() => HandshakePayload.decode(u8(ld(2, bytes(64)))))).toBe('INVALID_FIELD');
  });

  it('enforces string length limits and UTF-8', () => {
    const open = (proto: ArrayLike<number>): Uint8Array => u8(tag(1, 0), v(1), ld(2, proto));
    expect(MuxOpen.decode(open(Buffer.from('/detr/é/1'))).protocol).toBe('/detr/é/1');
    expect(codeOf(() => MuxOpen.decode(open(new Uint8Array(129).fill(0x61))))).toBe(
      'INVALID_FIELD',
    );
    expect(codeOf(() => MuxOpen.decode(open([0xc3, 0x28])))).toBe('INVALID_FIELD');
    expect(codeOf(() => MuxOpen.decode(open([0xed, 0xa0, 0x80])))).toBe('INVALID_FIELD'); // surrogate
    expect(codeOf(() => MuxOpen.decode(open([])))).toBe('INVALID_FIELD'); // min_len 1
  });

  it('enforces the element count of a repeated field before decoding it', () => {
    const id = ld(3, [1, 2, 3, 4]);
    const list = (n: number): Uint8Array =>
      u8(ld(1, bytes(32)), ...new Array<number[]>(n).fill(id));
    expect(RevocationList.decode(list(10_000)).revokedTokenIds).toHaveLength(10_000);
    expect(codeOf(() => RevocationList.decode(list(10_001)))).toBe('INVALID_FIELD');
  });

  it('bounds the total number of repeated elements of one message (maxElements)', () => {
    const ihave = ld(1, [...ld(1, [0x74]), ...new Array<number[]>(300).fill(ld(2, [9])).flat()]);
    const control = ld(3, new Array<number[]>(60).fill(ihave).flat());
    const rpc = u8(control);
    expect(codeOf(() => GossipRpc.decode(rpc))).toBe('INVALID_FIELD'); // 60 + 18,000 > 16,384
    expect(GossipRpc.decode(rpc, { maxElements: 20_000 }).control?.ihave).toHaveLength(60);
  });

  it('rejects a message field marked required when absent', () => {
    expect(codeOf(() => DhtStoreRequest.decode(new Uint8Array(0)))).toBe('INVALID_FIELD');
  });
});

describe('oneof', () => {
  it('requires exactly one member', () => {
    expect(DhtRequest.decode(u8(tag(1, 0), v(9), ld(2, [])))).toEqual({
      requestId: 9,
      body: 'ping',
      ping: {},
      senderAddresses: [],
    });
    expect(codeOf(() => DhtRequest.decode(u8(tag(1, 0), v(9))))).toBe('INVALID_FIELD');
    expect(codeOf(() => DhtRequest.decode(u8(ld(2, []), ld(3, ld(1, [1])))))).toBe('INVALID_FIELD');
  });

  it('narrows on the discriminator', () => {
    const r = DhtRequest.decode(DhtRequest.encode({ requestId: 1, findNode: { key: bytes(32) } }));
    expect(r.body).toBe('findNode');
    if (r.body === 'findNode') expect(r.findNode.key).toHaveLength(32);
  });
});

describe('zero copy', () => {
  it('returns byte fields as views into the input', () => {
    const input = MsgData.encode({ channel: 'c', seq: 1, payload: bytes(1000) });
    const m = MsgData.decode(input);
    expect(m.payload.buffer).toBe(input.buffer);
    expect(m.payload.byteOffset).toBeGreaterThanOrEqual(input.byteOffset);
  });
});

describe('encoder input checks', () => {
  it('throws TypeError for wrong JavaScript types', () => {
    expect(() => MuxData.encode({ streamId: '1' as unknown as number })).toThrow(TypeError);
    expect(() => MuxData.encode({ streamId: 1, payload: 'abc' as unknown as Uint8Array })).toThrow(
      TypeError,
    );
    expect(() => MuxData.encode(null as unknown as { streamId: number })).toThrow(TypeError);
    expect(() =>
      HandshakePayload.encode({
        identityKey: bytes(32),
        identitySig: bytes(64),
        versions: 1 as unknown as number[],
      }),
    ).toThrow(TypeError);
  });

  it('throws RangeError for values outside the schema limits', () => {
    expect(() => MuxData.encode({ streamId: 0 })).toThrow(RangeError);
    expect(() => MuxData.encode({ streamId: 2 ** 32 })).toThrow(RangeError);
    expect(() => MuxData.encode({ streamId: 1.5 })).toThrow(RangeError);
    expect(() => MsgAck.encode({ cumulativeSeq: 2 ** 53 })).toThrow(RangeError);
    expect(() => MuxReset.encode({ streamId: 1, code: 99 as never })).toThrow(RangeError);
    expect(() =>
      HandshakePayload.encode({ identityKey: bytes(31), identitySig: bytes(64) }),
    ).toThrow(RangeError);
    expect(() => MuxOpen.encode({ streamId: 1, protocol: 'x'.repeat(129) })).toThrow(RangeError);
    expect(() =>
      HandshakePayload.encode({
        identityKey: bytes(32),
        identitySig: bytes(64),
        versions: new Array<number>(17).fill(1),
      }),
    ).toThrow(RangeError);
  });

  it('throws RangeError for a oneof with no or two members', () => {
    expect(() => DhtRequest.encode({ requestId: 1 } as never)).toThrow(RangeError);
    expect(() =>
      DhtRequest.encode({ requestId: 1, ping: {}, findNode: { key: bytes(4) } }),
    ).toThrow(RangeError);
  });
});
