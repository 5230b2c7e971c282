import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { encodeBindingRequest, parseBindingResponse } from '../../src/stun/message.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// RFC 5769 §2.2 "Sample IPv4 Response" (transcribed from the RFC; the parser ignores
// MESSAGE-INTEGRITY and FINGERPRINT values, it only walks them).
const RFC5769_IPV4_RESPONSE = hex(`
  0101 003c 2112 a442 b7e7 a701 bc34 d686 fa87 dfae
  8022 000b 7465 7374 2076 6563 746f 7220
  0020 0008 0001 a147 e112 a643
  0008 0014 2b91 f599 fd9e 90c3 8c74 89f9 2af9 ba53 f06b e7d7
  8028 0004 c07d 4c96`);

// RFC 5769 §2.3: header, transaction id and XOR-MAPPED-ADDRESS of the "Sample IPv6 Response".
const RFC5769_IPV6_XOR = hex(`
  0101 0018 2112 a442 b7e7 a701 bc34 d686 fa87 dfae
  0020 0014 0002 a147 0113 a9fa a5d3 f179 bc25 f4b5 bed2 b9d9`);

describe('STUN messages', () => {
  it('parses the RFC 5769 IPv4 sample response: 192.0.2.1:32853', () => {
    const r = parseBindingResponse(RFC5769_IPV4_RESPONSE);
    expect(r?.success).toBe(true);
    expect(r?.mapped).toEqual({ address: '192.0.2.1', port: 32853, family: 4 });
    expect(Buffer.from(r!.transactionId).toString('hex')).toBe('b7e7a701bc34d686fa87dfae');
  });

  it('parses the RFC 5769 IPv6 XOR-MAPPED-ADDRESS: 2001:db8:1234:5678:11:2233:4455:6677 port 32853', () => {
    expect(parseBindingResponse(RFC5769_IPV6_XOR)?.mapped).toEqual({
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
      family: 6,
    });
  });

  it('encodes a Binding request, with CHANGE-REQUEST when asked', () => {
    const tid = new Uint8Array(12).fill(7);
    expect(Buffer.from(encodeBindingRequest(tid)).toString('hex')).toBe(
      '000100002112a442' + '07'.repeat(12),
    );
    expect(Buffer.from(encodeBindingRequest(tid, { ip: true, port: true })).toString('hex')).toBe(
      '000100082112a442' + '07'.repeat(12) + '0003000400000006',
    );
    expect(() => encodeBindingRequest(new Uint8Array(11))).toThrow(RangeError);
  });

  it('rejects malformed responses: bad cookie, length, attribute bounds, request type', () => {
    const bad = (mutate: (b: Uint8Array) => void): Uint8Array => {
      const b = RFC5769_IPV4_RESPONSE.slice();
      mutate(b);
      return b;
    };
    expect(parseBindingResponse(bad((b) => (b[4] = 0)))).toBeUndefined();
    expect(parseBindingResponse(bad((b) => (b[3] = 0x40)))).toBeUndefined();
    expect(parseBindingResponse(bad((b) => (b[0] = 0x00)))).toBeUndefined();
    expect(parseBindingResponse(bad((b) => (b[23] = 0xff)))).toBeUndefined();
    expect(parseBindingResponse(RFC5769_IPV4_RESPONSE.subarray(0, 40))).toBeUndefined();
    expect(parseBindingResponse(new Uint8Array(3))).toBeUndefined();
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parseBindingResponse(bytes);
        const framed = new Uint8Array(20 + (bytes.length & ~3));
        framed.set([
          0x01,
          0x01,
          (framed.length - 20) >> 8,
          (framed.length - 20) & 0xff,
          0x21,
          0x12,
          0xa4,
          0x42,
        ]);
        framed.set(bytes.subarray(0, framed.length - 20), 20);
        parseBindingResponse(framed);
      }),
      { numRuns: 2000 },
    );
  });
});
