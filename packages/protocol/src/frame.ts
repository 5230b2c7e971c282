// Frame layout (every integer an unsigned protobuf varint, minimal encoding):
//
//   frame   = length content
//   length  = byte count of `content`, at most maxFrameBytes (checked before anything is allocated)
//   content = version type body
//   body    = the protobuf encoding of the message named by `type`
//
// A 100-byte MuxData payload costs 7 bytes of framing: length (1), version (1), type (1),
// stream id tag + value (2 for ids < 128), payload tag + length (2).
import type { MessageCodec } from './codec.js';
import { codecForType, TYPE_CODES } from './codec.js';
import {
  FrameTooLargeError,
  MalformedError,
  TruncatedError,
  UnknownTypeError,
  UnsupportedVersionError,
} from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_LENGTH_PREFIX_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
} from './constants.js';
import { Writer } from './generated.js';
import { decodeMuxData } from './mux.js';
import type { MessageByType, MessageInitByType, MessageType } from './gen/types.js';
import type { DecodeOptions } from './validate.js';
import { varintLength, writeVarint } from './varint.js';

/** MuxData's type code (decoded through the fast path). */
const MUX_DATA = 17;
/** Largest frame type code (two varint bytes). */
const MAX_TYPE_CODE = 16_383;

/** One frame, as a decoder yields it. */
export interface Frame {
  /** Protocol version from the header. */
  readonly version: number;
  /** Message type code from the header (one of `MessageType`). */
  readonly type: MessageType;
  /** The protobuf body: a view into the decoder's input or its one reassembly buffer. */
  readonly body: Uint8Array;
}

/** Options of frame decoders (`decodeFrame`, `createFrameDecoder`, `decodeFrames`). */
export interface FrameOptions {
  /**
   * Largest frame accepted, counting version, type and body (not the length prefix). A longer
   * frame fails with `FrameTooLargeError` as soon as its length prefix is read.
   *
   * @default 1048576 (1 MiB)
   */
  readonly maxFrameBytes?: number;
  /**
   * Protocol versions accepted in frame headers (usually the one negotiated in the handshake).
   *
   * @default SUPPORTED_VERSIONS
   */
  readonly versions?: readonly number[];
  /**
   * Message type codes accepted (e.g. only the mux frames on a connection).
   *
   * @default every code of `MessageType`
   */
  readonly types?: readonly number[];
}

/** Options of frame encoders. */
export interface EncodeFrameOptions {
  /**
   * Protocol version written in the header.
   *
   * @default PROTOCOL_VERSION
   */
  readonly version?: number;
  /**
   * Largest frame the encoder produces; a bigger one throws `RangeError`.
   *
   * @default 1048576 (1 MiB)
   */
  readonly maxFrameBytes?: number;
}

/** Frame options with defaults applied and lookups built. */
export interface ResolvedFrameOptions {
  readonly maxFrameBytes: number;
  readonly versions: readonly number[];
  readonly versionSet: ReadonlySet<number>;
  readonly typeAllowed: Uint8Array;
}

function checkMaxFrameBytes(value: number): number {
  if (!Number.isInteger(value) || value < 16 || value > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer in 16..${MAX_FRAME_BYTES_LIMIT}`);
  }
  return value;
}

function checkVersion(version: number): number {
  if (!Number.isInteger(version) || version < 1 || version > 0xffff_ffff) {
    throw new RangeError('protocol versions are integers in 1..2^32-1');
  }
  return version;
}

let defaults: ResolvedFrameOptions | undefined;

/**
 * Applies defaults and validates frame options.
 *
 * @throws {RangeError} for an out-of-range limit, version or type code
 */
export function resolveFrameOptions(options: FrameOptions = {}): ResolvedFrameOptions {
  if (
    options.maxFrameBytes === undefined &&
    options.versions === undefined &&
    options.types === undefined
  ) {
    defaults ??= build(DEFAULT_MAX_FRAME_BYTES, SUPPORTED_VERSIONS, TYPE_CODES);
    return defaults;
  }
  return build(
    checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    options.versions ?? SUPPORTED_VERSIONS,
    options.types ?? TYPE_CODES,
  );
}

function build(
  maxFrameBytes: number,
  versions: readonly number[],
  types: readonly number[],
): ResolvedFrameOptions {
  if (versions.length === 0) throw new RangeError('versions must not be empty');
  const typeAllowed = new Uint8Array(MAX_TYPE_CODE + 1);
  for (const t of types) {
    if (!Number.isInteger(t) || t < 1 || t > MAX_TYPE_CODE)
      throw new RangeError(`bad type code ${t}`);
    codecForType(t); // throws UnknownTypeError for a code that is not in the schema
    typeAllowed[t] = 1;
  }
  const list = Object.freeze([...versions].map(checkVersion));
  return { maxFrameBytes, versions: list, versionSet: new Set(list), typeAllowed };
}

/**
 * Parses `version type body` from a complete frame content.
 *
 * @throws {ProtocolError} for a malformed header or an unaccepted version or type
 */
export function parseFrameContent(content: Uint8Array, o: ResolvedFrameOptions): Frame {
  const n = content.length;
  let pos = 0;
  // version
  let version = 0;
  let mul = 1;
  for (let i = 0; ; i++) {
    if (i === 5) throw new MalformedError('version varint longer than 5 bytes');
    if (pos >= n) throw new TruncatedError('frame ends inside its version');
    const b = content[pos++]!;
    version += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new MalformedError('non-minimal version varint');
      break;
    }
    mul *= 128;
  }
  // type
  let type = 0;
  mul = 1;
  for (let i = 0; ; i++) {
    if (i === 5) throw new MalformedError('type varint longer than 5 bytes');
    if (pos >= n) throw new TruncatedError('frame ends inside its type');
    const b = content[pos++]!;
    type += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new MalformedError('non-minimal type varint');
      break;
    }
    mul *= 128;
  }
  if (!o.versionSet.has(version)) throw new UnsupportedVersionError(version, o.versions);
  if (type > MAX_TYPE_CODE || o.typeAllowed[type] !== 1) throw new UnknownTypeError(type);
  return { version, type: type as MessageType, body: content.subarray(pos) };
}

/**
 * Decodes exactly one frame from `bytes` (length prefix included). The body is a view into
 * `bytes`.
 *
 * @throws {FrameTooLargeError} when the announced length exceeds `maxFrameBytes`
 * @throws {TruncatedError} when `bytes` ends before the frame does
 * @throws {MalformedError} for a bad length prefix or bytes after the frame
 * @throws {UnsupportedVersionError} for a version not in `versions`
 * @throws {UnknownTypeError} for a type not in `types`
 * @example
 * ```ts
 * const { type, body } = decodeFrame(bytes)
 * ```
 */
export function decodeFrame(bytes: Uint8Array, options?: FrameOptions): Frame {
  const o = resolveFrameOptions(options);
  let length = 0;
  let mul = 1;
  let pos = 0;
  for (;;) {
    if (pos >= bytes.length) throw new TruncatedError('input ends inside the frame length');
    if (pos >= MAX_LENGTH_PREFIX_BYTES)
      throw new MalformedError('frame length longer than 5 bytes');
    const b = bytes[pos++]!;
    length += (b & 0x7f) * mul;
    if (length > o.maxFrameBytes) throw new FrameTooLargeError(length, o.maxFrameBytes);
    if (b < 0x80) {
      if (b === 0 && pos > 1) throw new MalformedError('non-minimal frame length');
      break;
    }
    mul *= 128;
    if (mul > o.maxFrameBytes) throw new FrameTooLargeError(mul, o.maxFrameBytes);
  }
  if (length < 2) throw new MalformedError(`frame of ${length} bytes has no room for its header`);
  if (bytes.length - pos < length)
    throw new TruncatedError(`input ends inside a ${length}-byte frame`);
  if (bytes.length - pos > length) throw new MalformedError('bytes after the end of the frame');
  return parseFrameContent(bytes.subarray(pos, pos + length), o);
}

function encodeOptions(options?: EncodeFrameOptions): { version: number; maxFrameBytes: number } {
  return {
    version: options?.version === undefined ? PROTOCOL_VERSION : checkVersion(options.version),
    maxFrameBytes:
      options?.maxFrameBytes === undefined
        ? DEFAULT_MAX_FRAME_BYTES
        : checkMaxFrameBytes(options.maxFrameBytes),
  };
}

function checkType(type: number): void {
  if (!Number.isInteger(type) || type < 1 || type > MAX_TYPE_CODE)
    throw new RangeError(`bad type code ${type}`);
}

/**
 * The header (length prefix, version, type) that goes before a `bodyBytes`-long body, for
 * writing header and body separately without concatenating them.
 *
 * @throws {RangeError} when the frame would exceed `maxFrameBytes`, or for a bad type/version
 * @example
 * ```ts
 * socket.cork(); socket.write(encodeFrameHeader(MessageType.MsgData, body.length)); socket.write(body); socket.uncork()
 * ```
 */
export function encodeFrameHeader(
  type: number,
  bodyBytes: number,
  options?: EncodeFrameOptions,
): Uint8Array {
  checkType(type);
  const { version, maxFrameBytes } = encodeOptions(options);
  if (!Number.isInteger(bodyBytes) || bodyBytes < 0)
    throw new RangeError('bodyBytes must be a non-negative integer');
  const content = varintLength(version) + varintLength(type) + bodyBytes;
  if (content > maxFrameBytes)
    throw new RangeError(`frame of ${content} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
  const header = new Uint8Array(varintLength(content) + content - bodyBytes);
  let p = writeVarint(header, 0, content);
  p = writeVarint(header, p, version);
  writeVarint(header, p, type);
  return header;
}

/**
 * Encodes a message as one frame (length prefix, version, type, protobuf body) in a single
 * buffer.
 *
 * @throws {UnknownTypeError} for a type code that is not in the schema
 * @throws {TypeError} / {RangeError} when the message breaks the schema or the frame would exceed
 *   `maxFrameBytes`
 * @example
 * ```ts
 * const bytes = encodeFrame(MessageType.MuxPing, { nonce })
 * ```
 */
export function encodeFrame<T extends MessageType>(
  type: T,
  message: MessageInitByType[T],
  options?: EncodeFrameOptions,
): Uint8Array {
  checkType(type);
  const codec = codecForType(type) as MessageCodec<unknown, MessageInitByType[T]>;
  const { version, maxFrameBytes } = encodeOptions(options);
  const w = Writer.create();
  w.fork();
  w.uint32(version);
  w.uint32(type);
  codec.encodeTo(message, w);
  w.ldelim();
  const out = w.finish();
  const content = out.length - prefixLength(out);
  if (content > maxFrameBytes) {
    throw new RangeError(`frame of ${content} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
  }
  return out;
}

function prefixLength(frame: Uint8Array): number {
  let n = 0;
  while (n < frame.length && frame[n]! >= 0x80) n++;
  return n + 1;
}

/**
 * Decodes a frame's body into its message, by the frame's type code.
 *
 * @throws {ProtocolError} for an unknown type or an invalid body
 * @example
 * ```ts
 * for (const frame of decoder.push(chunk)) handle(frame.type, decodeFrameBody(frame))
 * ```
 */
export function decodeFrameBody(frame: Frame, options?: DecodeOptions): AnyMessage {
  if (frame.type === MUX_DATA) return { type: MUX_DATA, message: decodeMuxData(frame.body) };
  return {
    type: frame.type,
    message: codecForType(frame.type).decode(frame.body, options),
  } as AnyMessage;
}

/**
 * Decodes a body as the message of type code `type`.
 *
 * @throws {ProtocolError} for an unknown type or an invalid body
 * @example
 * ```ts
 * const open = decodeMessage(MessageType.MuxOpen, frame.body)
 * ```
 */
export function decodeMessage<T extends MessageType>(
  type: T,
  body: Uint8Array,
  options?: DecodeOptions,
): MessageByType[T] {
  return codecForType(type).decode(body, options) as MessageByType[T];
}

/** A decoded frame body, discriminated by its type code. */
export type AnyMessage = {
  [K in MessageType]: { readonly type: K; readonly message: MessageByType[K] };
}[MessageType];
