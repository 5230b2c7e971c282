// The slice of STUN (RFC 5389) that NAT behaviour discovery (RFC 5780) needs: Binding requests
// with an optional CHANGE-REQUEST, and strict parsing of Binding responses. Every byte of a
// response is adversarial: a malformed one parses to `undefined`, never throws.

export const MAGIC_COOKIE = 0x2112a442;
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_CHANGE_REQUEST = 0x0003;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_RESPONSE_ORIGIN = 0x802b;
const ATTR_OTHER_ADDRESS = 0x802c;

/** An IP endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** A parsed Binding response. */
export interface BindingResponse {
  readonly transactionId: Uint8Array;
  readonly success: boolean;
  /** XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS when only that is present. */
  readonly mapped?: Endpoint;
  /** RFC 5780 OTHER-ADDRESS: the server's alternate address (its presence means 5780 support). */
  readonly other?: Endpoint;
  /** RFC 5780 RESPONSE-ORIGIN. */
  readonly origin?: Endpoint;
  /** ERROR-CODE (class × 100 + number) of an error response. */
  readonly errorCode?: number;
}

/**
 * Encodes a Binding request. `change` asks the server (RFC 5780 CHANGE-REQUEST) to answer from
 * another IP and/or port.
 *
 * @throws {RangeError} when `transactionId` is not 12 bytes
 */
export function encodeBindingRequest(
  transactionId: Uint8Array,
  change: { ip?: boolean; port?: boolean } = {},
): Uint8Array {
  if (transactionId.length !== 12) throw new RangeError('transactionId must be 12 bytes');
  const withChange = change.ip === true || change.port === true;
  const out = new Uint8Array(20 + (withChange ? 8 : 0));
  const view = new DataView(out.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint16(2, withChange ? 8 : 0);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(transactionId, 8);
  if (withChange) {
    view.setUint16(20, ATTR_CHANGE_REQUEST);
    view.setUint16(22, 4);
    view.setUint32(24, (change.ip === true ? 0x4 : 0) | (change.port === true ? 0x2 : 0));
  }
  return out;
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2)
    parts.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // Canonical compressed form through URL parsing would allocate; a plain form is fine for
  // comparison and display because we format every address the same way.
  return parts.join(':');
}

function parseAddress(value: Uint8Array, xor: boolean, tid: Uint8Array): Endpoint | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const len = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (len === 0 || value.length !== 4 + len) return undefined;
  let port = ((value[2] as number) << 8) | (value[3] as number);
  const ip = value.slice(4, 4 + len);
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    const mask = new Uint8Array(16);
    new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
    mask.set(tid, 4);
    for (let i = 0; i < len; i++) ip[i] = (ip[i] as number) ^ (mask[i] as number);
  }
  return { address: formatIp(ip), port, family: len === 4 ? 4 : 6 };
}

/**
 * Parses a Binding success or error response; `undefined` for anything else or anything
 * malformed (bad header, length, cookie, attribute bounds).
 */
export function parseBindingResponse(bytes: Uint8Array): BindingResponse | undefined {
  if (bytes.length < 20 || bytes.length > 2048) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if ((type & 0xc000) !== 0 || view.getUint32(4) !== MAGIC_COOKIE) return undefined;
  if (length % 4 !== 0 || length !== bytes.length - 20) return undefined;
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) return undefined;
  const transactionId = bytes.slice(8, 20);
  let mapped: Endpoint | undefined;
  let xorMapped: Endpoint | undefined;
  let other: Endpoint | undefined;
  let origin: Endpoint | undefined;
  let errorCode: number | undefined;
  let offset = 20;
  for (let n = 0; offset < bytes.length; n++) {
    if (n >= 64 || offset + 4 > bytes.length) return undefined;
    const attr = view.getUint16(offset);
    const alen = view.getUint16(offset + 2);
    const start = offset + 4;
    if (start + alen > bytes.length) return undefined;
    const value = bytes.subarray(start, start + alen);
    switch (attr) {
      case ATTR_XOR_MAPPED_ADDRESS:
        xorMapped ??= parseAddress(value, true, transactionId);
        break;
      case ATTR_MAPPED_ADDRESS:
        mapped ??= parseAddress(value, false, transactionId);
        break;
      case ATTR_OTHER_ADDRESS:
        other ??= parseAddress(value, false, transactionId);
        break;
      case ATTR_RESPONSE_ORIGIN:
        origin ??= parseAddress(value, false, transactionId);
        break;
      case ATTR_ERROR_CODE:
        if (alen >= 4) errorCode = ((value[2] as number) & 0x7) * 100 + (value[3] as number);
        break;
    }
    offset = start + alen + ((4 - (alen % 4)) % 4);
  }
  if (offset !== bytes.length) return undefined;
  const best = xorMapped ?? mapped;
  return {
    transactionId,
    success: type === BINDING_SUCCESS,
    ...(best !== undefined ? { mapped: best } : {}),
    ...(other !== undefined ? { other } : {}),
    ...(origin !== undefined ? { origin } : {}),
    ...(errorCode !== undefined ? { errorCode } : {}),
  };
}
