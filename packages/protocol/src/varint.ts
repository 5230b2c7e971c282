// Unsigned LEB128 varints up to 32 bits, as protobuf writes them, for frame headers.

/** Bytes a varint of `value` (0..2^32-1) takes. */
export function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5;
}

/** Writes `value` (0..2^32-1) at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}
