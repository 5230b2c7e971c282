/**
 * @packageDocumentation
 * @detr/protocol: the wire format. Every message as protobuf (static protobufjs code generated
 * from `proto/detr/*.proto`), validated on decode against the limits declared in the schema;
 * length-prefixed frames with a version and a type code and a hard size limit; a streaming frame
 * decoder; version negotiation; typed errors. Decoders throw only `ProtocolError`.
 */

export {
  ProtocolError,
  FrameTooLargeError,
  TruncatedError,
  UnknownTypeError,
  InvalidFieldError,
  MalformedError,
  UnsupportedVersionError,
  NoCommonVersionError,
} from './errors.js';
export type { ProtocolErrorCode, ProtocolErrorContext } from './errors.js';

export type { MessageCodec, DecodeOptions } from './codec.js';
export { codecForName, codecForType, TYPE_CODES } from './codec.js';
export { DEFAULT_MAX_ELEMENTS } from './validate.js';
export type { FieldKind, FieldSchema, MessageSchema, EnumSchema } from './schema-types.js';
export { MESSAGES as SCHEMA, ENUMS as ENUM_SCHEMA } from './gen/schema.js';

export {
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  DEFAULT_MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_LENGTH_PREFIX_BYTES,
} from './constants.js';
export {
  encodeFrame,
  encodeFrameHeader,
  decodeFrame,
  decodeFrameBody,
  decodeMessage,
} from './frame.js';
export type { Frame, FrameOptions, EncodeFrameOptions, AnyMessage } from './frame.js';
export { createFrameDecoder, decodeFrames } from './frame-decoder.js';
export type { FrameDecoder } from './frame-decoder.js';
export { encodeDataHeader, encodeDataFrame, decodeMuxData } from './mux.js';
export { negotiateVersion } from './version.js';

// Every message: `X` (codec: X.encode / X.decode), `X` / `XInit` (decoded / encoder-input types),
// enum constants, `MessageType` (frame type codes), `MessageByType`.
export * from './gen/types.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/protocol', layer: 'protocol' } as const;
