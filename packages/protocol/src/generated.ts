// The bridge to the protobufjs static code in ./gen/messages.js: one lookup from a message's
// full name to its generated encode/decode pair.
import protobuf from 'protobufjs/minimal.js';
import { detr } from './gen/messages.js';

/** The part of a pbjs static message class this package uses. */
export interface GeneratedType {
  encode(message: object, writer?: protobuf.Writer): protobuf.Writer;
  decode(reader: protobuf.Reader | Uint8Array, length?: number): Record<string, unknown>;
}

export const { Reader, Writer } = protobuf;
export type { Reader as ReaderType, Writer as WriterType } from 'protobufjs/minimal.js';

/**
 * The generated class for a fully qualified name such as `detr.mux.MuxData`.
 *
 * @throws {Error} when the generated code has no such message (src/gen out of date)
 */
export function generatedType(fullName: string): GeneratedType {
  const parts = fullName.split('.');
  let node: unknown = { detr };
  for (const part of parts) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  const t = node as Partial<GeneratedType> | undefined;
  if (typeof t?.encode !== 'function' || typeof t.decode !== 'function') {
    throw new Error(`generated code has no message ${fullName}: run the codegen target`);
  }
  return t as GeneratedType;
}
