/** Field kinds the schema supports (scalars detr uses, enums, nested messages). */
export type FieldKind = 'uint32' | 'uint64' | 'bool' | 'string' | 'bytes' | 'enum' | 'message';

/** One field of a message, with the limits declared by the `detr.*` options in its `.proto`. */
export interface FieldSchema {
  /** camelCase name, as in the TypeScript shapes. */
  readonly name: string;
  /** Field number on the wire. */
  readonly id: number;
  readonly kind: FieldKind;
  /** Enum or message name for `enum`/`message` fields. */
  readonly ref?: string;
  readonly repeated?: boolean;
  /** Name of the oneof the field belongs to. */
  readonly oneof?: string;
  /** bytes: exact length. */
  readonly len?: number;
  /** bytes/string: minimum length in bytes. */
  readonly minLen?: number;
  /** bytes/string: maximum length in bytes. */
  readonly maxLen?: number;
  /** repeated: maximum element count. */
  readonly maxCount?: number;
  /** Not the default value (scalars), present (messages), non-empty (bytes/strings). */
  readonly required?: boolean;
}

/** One message of the wire format. */
export interface MessageSchema {
  readonly name: string;
  /** Fully qualified protobuf name, e.g. `detr.mux.MuxData`. */
  readonly fullName: string;
  /** Frame type code, for messages that can be sent as a frame or signed in an envelope. */
  readonly typeCode?: number;
  readonly oneofs: readonly string[];
  /** Fields in field-number order. */
  readonly fields: readonly FieldSchema[];
}

/** One enum of the wire format. */
export interface EnumSchema {
  readonly name: string;
  readonly values: readonly number[];
}
