import { toProtocolError, UnknownTypeError } from './errors.js';
import { generatedType, Reader, Writer } from './generated.js';
import type { GeneratedType, WriterType } from './generated.js';
import { MESSAGES } from './gen/schema.js';
import type { MessageSchema } from './schema-types.js';
import type { CompiledMessage, DecodeOptions } from './validate.js';
import { checkInitObject, compileMessage, normalizeObject, scanMessage } from './validate.js';

export type { DecodeOptions } from './validate.js';

/**
 * Encoder and validating decoder of one message type. One exists per message of the schema,
 * exported under the message's name (e.g. `MuxData`, `HandshakePayload`).
 *
 * @example
 * ```ts
 * const bytes = HandshakePayload.encode({ identityKey, identitySig, versions: [1] })
 * const payload = HandshakePayload.decode(bytes) // plain object, every field validated
 * ```
 */
export interface MessageCodec<T, I> {
  /** Message name, e.g. `MuxData`. */
  readonly name: string;
  /** Fully qualified protobuf name, e.g. `detr.mux.MuxData`. */
  readonly fullName: string;
  /** Frame type code, or `undefined` for messages that only travel nested in others. */
  readonly typeCode: number | undefined;
  /** The schema (field numbers, kinds and limits). */
  readonly schema: MessageSchema;
  /**
   * Encodes a message (protobuf bytes, no frame header).
   *
   * @throws {TypeError} when a field has the wrong JavaScript type
   * @throws {RangeError} when a value breaks a schema limit
   */
  encode(message: I): Uint8Array;
  /**
   * Encodes a message into a protobufjs writer (used by the frame encoder).
   *
   * @throws {TypeError} when a field has the wrong JavaScript type
   * @throws {RangeError} when a value breaks a schema limit
   */
  encodeTo(message: I, writer: WriterType): void;
  /**
   * Decodes and validates one message. Byte fields of the result are views into `bytes`
   * (no copy): keep `bytes` unchanged while the result is in use.
   *
   * @throws {ProtocolError} on any input that is not a valid message; never anything else
   */
  decode(bytes: Uint8Array, options?: DecodeOptions): T;
}

interface Internal {
  readonly compiled: CompiledMessage;
  readonly generated: GeneratedType;
}

const internals = new Map<string, Internal>();

function internal(name: string): Internal {
  let hit = internals.get(name);
  if (hit === undefined) {
    hit = { compiled: compileMessage(name), generated: generatedType(MESSAGES[name]!.fullName) };
    internals.set(name, hit);
  }
  return hit;
}

class Codec<T, I> implements MessageCodec<T, I> {
  readonly name: string;
  readonly fullName: string;
  readonly typeCode: number | undefined;
  readonly schema: MessageSchema;
  private impl: Internal | undefined;

  constructor(schema: MessageSchema) {
    this.name = schema.name;
    this.fullName = schema.fullName;
    this.typeCode = schema.typeCode;
    this.schema = schema;
  }

  encode(message: I): Uint8Array {
    const w = Writer.create();
    this.encodeTo(message, w);
    return w.finish();
  }

  encodeTo(message: I, writer: WriterType): void {
    if (typeof message !== 'object' || message === null) {
      throw new TypeError(`${this.name}: message must be an object`);
    }
    const { compiled, generated } = (this.impl ??= internal(this.name));
    checkInitObject(compiled, message as Record<string, unknown>);
    generated.encode(message, writer);
  }

  decode(bytes: Uint8Array, options?: DecodeOptions): T {
    if (!(bytes instanceof Uint8Array))
      throw new TypeError(`${this.name}: bytes must be a Uint8Array`);
    const { compiled, generated } = (this.impl ??= internal(this.name));
    try {
      scanMessage(compiled, bytes, options);
      const decoded = generated.decode(Reader.create(bytes));
      return normalizeObject(compiled, decoded, this.name) as T;
    } catch (err) {
      throw toProtocolError(err, this.name);
    }
  }
}

/**
 * The codec of a message by name (used by the generated `types.ts`).
 *
 * @throws {Error} for a name that is not in the schema
 * @example
 * ```ts
 * export const MuxData = defineCodec<MuxData, MuxDataInit>('MuxData')
 * ```
 */
export function defineCodec<T, I>(name: string): MessageCodec<T, I> {
  const schema = MESSAGES[name];
  if (schema === undefined) throw new Error(`no message ${name} in the schema`);
  return new Codec<T, I>(schema);
}

const byTypeCode = new Map<number, MessageCodec<unknown, unknown>>();
const byName = new Map<string, MessageCodec<unknown, unknown>>();
for (const schema of Object.values(MESSAGES)) {
  const codec = new Codec<unknown, unknown>(schema);
  byName.set(schema.name, codec);
  if (schema.typeCode !== undefined) byTypeCode.set(schema.typeCode, codec);
}

/**
 * The codec of a message by name, for generic tools (fuzzers, inspectors); code that knows the
 * message uses its named export (`MuxData`, ...) instead.
 *
 * @throws {RangeError} for a name that is not in the schema
 * @example
 * ```ts
 * const message = codecForName('DhtRecord').decode(bytes)
 * ```
 */
export function codecForName(name: string): MessageCodec<unknown, unknown> {
  const c = byName.get(name);
  if (c === undefined) throw new RangeError(`no message ${name} in the schema`);
  return c;
}

/**
 * The codec of the message with frame type code `typeCode`.
 *
 * @throws {UnknownTypeError} when no message has that code
 * @example
 * ```ts
 * const codec = codecForType(frame.type)
 * const message = codec.decode(frame.body)
 * ```
 */
export function codecForType(typeCode: number): MessageCodec<unknown, unknown> {
  const c = byTypeCode.get(typeCode);
  if (c === undefined) throw new UnknownTypeError(typeCode);
  return c;
}

/** Every frame type code of the schema, ascending. */
export const TYPE_CODES: readonly number[] = [...byTypeCode.keys()].sort((a, b) => a - b);
