import { DetrError } from '@detr/interface';

/** Stable codes of {@link ProtocolError}; callers match on these, never on messages. */
export type ProtocolErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'TRUNCATED'
  | 'UNKNOWN_TYPE'
  | 'INVALID_FIELD'
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION'
  | 'NO_COMMON_VERSION';

/** Where in the input a decoding error was found, when known. */
export interface ProtocolErrorContext {
  /** Name of the message being decoded, e.g. `MuxData`. */
  readonly messageName?: string;
  /** Dotted path of the offending field, e.g. `DhtResponse.closerPeers.addresses`. */
  readonly field?: string;
  readonly cause?: unknown;
}

/**
 * Base class of every error a decoder of `@detr/protocol` throws on remote input. Decoders throw
 * nothing else, whatever the bytes. Match on `code` (or the subclass), not on `message`.
 *
 * @example
 * ```ts
 * try { MuxData.decode(bytes) } catch (err) {
 *   if (err instanceof ProtocolError) reporter.report(peer, 'malformed', err.code)
 * }
 * ```
 */
export class ProtocolError extends DetrError {
  declare readonly code: ProtocolErrorCode;
  /** Name of the message being decoded, when known. */
  readonly messageName: string | undefined;
  /** Dotted path of the offending field, when known. */
  readonly field: string | undefined;

  constructor(message: string, code: ProtocolErrorCode, context: ProtocolErrorContext = {}) {
    super(message, code, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'ProtocolError';
    this.messageName = context.messageName;
    this.field = context.field;
  }
}

/** A frame announced a length above the configured maximum; nothing was allocated for it. */
export class FrameTooLargeError extends ProtocolError {
  /** The announced length (a lower bound when the length prefix itself was cut short). */
  readonly frameBytes: number;
  readonly maxFrameBytes: number;

  constructor(frameBytes: number, maxFrameBytes: number) {
    super(
      `frame of ${frameBytes} bytes exceeds the maximum of ${maxFrameBytes}`,
      'FRAME_TOO_LARGE',
    );
    this.name = 'FrameTooLargeError';
    this.frameBytes = frameBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/** The input ended inside a frame, a field, or a length-delimited value. */
export class TruncatedError extends ProtocolError {
  constructor(message = 'input ends inside a value', context?: ProtocolErrorContext) {
    super(message, 'TRUNCATED', context);
    this.name = 'TruncatedError';
  }
}

/** A frame carried a message type code this decoder does not know or does not accept. */
export class UnknownTypeError extends ProtocolError {
  readonly typeCode: number;

  constructor(typeCode: number) {
    super(`unknown or unexpected message type ${typeCode}`, 'UNKNOWN_TYPE');
    this.name = 'UnknownTypeError';
    this.typeCode = typeCode;
  }
}

/**
 * A field broke the schema: wrong wire type, value out of range, unknown enum value, length or
 * count over its limit, a required field or oneof missing, invalid UTF-8.
 */
export class InvalidFieldError extends ProtocolError {
  constructor(message: string, context?: ProtocolErrorContext) {
    super(message, 'INVALID_FIELD', context);
    this.name = 'InvalidFieldError';
  }
}

/** The bytes are not a well-formed frame or protobuf encoding (bad varint, tag, wire type). */
export class MalformedError extends ProtocolError {
  constructor(message: string, context?: ProtocolErrorContext) {
    super(message, 'MALFORMED', context);
    this.name = 'MalformedError';
  }
}

/** A frame carried a protocol version other than the ones this decoder accepts. */
export class UnsupportedVersionError extends ProtocolError {
  readonly version: number;
  readonly supportedVersions: readonly number[];

  constructor(version: number, supportedVersions: readonly number[]) {
    super(
      `protocol version ${version} is not one of [${supportedVersions.join(', ')}]`,
      'UNSUPPORTED_VERSION',
    );
    this.name = 'UnsupportedVersionError';
    this.version = version;
    this.supportedVersions = supportedVersions;
  }
}

/** Version negotiation failed: the two peers support no common protocol version. */
export class NoCommonVersionError extends ProtocolError {
  readonly localVersions: readonly number[];
  readonly remoteVersions: readonly number[];

  constructor(localVersions: readonly number[], remoteVersions: readonly number[]) {
    super(
      `no common protocol version: local supports [${localVersions.join(', ')}], remote supports [${remoteVersions.join(', ')}]`,
      'NO_COMMON_VERSION',
    );
    this.name = 'NoCommonVersionError';
    this.localVersions = [...localVersions];
    this.remoteVersions = [...remoteVersions];
  }
}

/** Turns anything a third-party decoder threw into a {@link ProtocolError}. */
export function toProtocolError(err: unknown, messageName?: string): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const text = err instanceof Error ? err.message : String(err);
  if (/index out of range|out of range/i.test(text)) {
    return new TruncatedError(`input ends inside a value: ${text}`, { messageName, cause: err });
  }
  return new MalformedError(`malformed input: ${text}`, { messageName, cause: err });
}
