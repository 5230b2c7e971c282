// Schema-driven checks around the generated protobufjs code.
//
// Decoding runs in three steps: `scanMessage` walks the raw protobuf bytes against the schema
// without allocating per element (wire types, varint ranges, enum values, UTF-8, maximum lengths,
// element counts, nesting), so nothing is allocated for an untrusted count or length before it is
// checked; the generated decoder then parses the bytes; `normalize` copies the result into a plain
// object with every default filled in and checks presence rules (required fields, exact and
// minimum lengths, exactly one member per oneof). Encoding checks the caller's object with
// `checkInit` first.
import { isUtf8 } from 'node:buffer';
import { InvalidFieldError, MalformedError, TruncatedError } from './errors.js';
import { ENUMS, MESSAGES } from './gen/schema.js';
import type { FieldKind, FieldSchema, MessageSchema } from './schema-types.js';

/** Default for {@link DecodeOptions.maxElements}. */
export const DEFAULT_MAX_ELEMENTS = 16_384;
/** Nesting limit of length-delimited messages (the schema itself nests at most a few levels). */
const MAX_DEPTH = 16;
const MAX_UINT32 = 0xffff_ffff;
const EMPTY: Uint8Array = new Uint8Array(0);

/** Options of every message decoder. */
export interface DecodeOptions {
  /**
   * Most repeated-field elements one decode may produce, over all nested messages; bounds the
   * memory a decoded message can take beyond its own bytes.
   *
   * @default 16384
   */
  readonly maxElements?: number;
}

export interface CompiledField {
  readonly schema: FieldSchema;
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Index among the message's fields (for per-message counters). */
  readonly index: number;
  /** Index of its oneof in the message, or -1. */
  readonly oneofIndex: number;
  /** `Message.field`, for error messages. */
  readonly path: string;
  readonly minLen: number;
  readonly maxLen: number;
  readonly maxCount: number;
  readonly enumValues: ReadonlySet<number> | undefined;
  message: CompiledMessage | undefined;
}

export interface CompiledMessage {
  readonly schema: MessageSchema;
  readonly name: string;
  readonly fields: readonly CompiledField[];
  /** Fields by field number (sparse). */
  readonly byId: readonly (CompiledField | undefined)[];
  readonly hasRepeated: boolean;
}

const compiled = new Map<string, CompiledMessage>();

/**
 * The compiled schema of a message by name.
 *
 * @throws {Error} for a name that is not in the schema
 */
export function compileMessage(name: string): CompiledMessage {
  const hit = compiled.get(name);
  if (hit !== undefined) return hit;
  const schema = MESSAGES[name];
  if (schema === undefined) throw new Error(`no message ${name} in the schema`);
  const byId: (CompiledField | undefined)[] = [];
  const fields = schema.fields.map((f, index): CompiledField => {
    const e = f.kind === 'enum' && f.ref !== undefined ? ENUMS[f.ref] : undefined;
    const cf: CompiledField = {
      schema: f,
      name: f.name,
      kind: f.kind,
      repeated: f.repeated === true,
      index,
      oneofIndex: f.oneof === undefined ? -1 : schema.oneofs.indexOf(f.oneof),
      path: `${schema.name}.${f.name}`,
      minLen: f.len ?? f.minLen ?? (f.required === true ? 1 : 0),
      maxLen: f.len ?? f.maxLen ?? Number.MAX_SAFE_INTEGER,
      maxCount: f.maxCount ?? 1,
      enumValues: e === undefined ? undefined : new Set(e.values),
      message: undefined,
    };
    byId[f.id] = cf;
    return cf;
  });
  const c: CompiledMessage = {
    schema,
    name: schema.name,
    fields,
    byId,
    hasRepeated: fields.some((f) => f.repeated),
  };
  compiled.set(name, c);
  // Resolve nested messages after registering (the schema has no cycles; this keeps it safe anyway).
  for (const f of fields) {
    if (f.kind === 'message' && f.schema.ref !== undefined)
      f.message = compileMessage(f.schema.ref);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Wire scan

interface ScanState {
  buf: Uint8Array;
  pos: number;
  elements: number;
  maxElements: number;
  messageName: string;
}

function readVarint(s: ScanState, end: number): number {
  const buf = s.buf;
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (s.pos >= end)
      throw new TruncatedError('input ends inside a varint', { messageName: s.messageName });
    const b = buf[s.pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value;
    mul *= 128;
  }
  throw new MalformedError('varint longer than 10 bytes', { messageName: s.messageName });
}

function skipUnknown(s: ScanState, wireType: number, end: number): void {
  switch (wireType) {
    case 0:
      readVarint(s, end);
      return;
    case 1:
      if (end - s.pos < 8)
        throw new TruncatedError('input ends inside a fixed64', { messageName: s.messageName });
      s.pos += 8;
      return;
    case 2: {
      const len = readVarint(s, end);
      if (len > end - s.pos)
        throw new TruncatedError('length-delimited value runs past the end', {
          messageName: s.messageName,
        });
      s.pos += len;
      return;
    }
    case 5:
      if (end - s.pos < 4)
        throw new TruncatedError('input ends inside a fixed32', { messageName: s.messageName });
      s.pos += 4;
      return;
    default:
      // 3/4 are proto2 groups (not used by detr, rejected rather than recursed into); 6/7 do not exist.
      throw new MalformedError(`unsupported wire type ${wireType}`, { messageName: s.messageName });
  }
}

function invalid(f: CompiledField, s: ScanState, why: string): InvalidFieldError {
  return new InvalidFieldError(`${f.path}: ${why}`, { messageName: s.messageName, field: f.path });
}

function checkScalar(f: CompiledField, s: ScanState, value: number): void {
  switch (f.kind) {
    case 'uint32':
      if (value > MAX_UINT32) throw invalid(f, s, 'value exceeds 2^32 - 1');
      return;
    case 'uint64':
      if (value > Number.MAX_SAFE_INTEGER) throw invalid(f, s, 'value exceeds 2^53 - 1');
      return;
    case 'bool':
      if (value > 1) throw invalid(f, s, 'bool must be 0 or 1');
      return;
    case 'enum':
      if (!f.enumValues!.has(value)) throw invalid(f, s, `unknown enum value ${value}`);
      return;
    default:
      return;
  }
}

function countElement(f: CompiledField, s: ScanState, counts: Uint32Array): void {
  const n = ++counts[f.index]!;
  if (n > f.maxCount) throw invalid(f, s, `more than ${f.maxCount} elements`);
  if (++s.elements > s.maxElements) {
    throw invalid(f, s, `message has more than ${s.maxElements} repeated elements in total`);
  }
}

function scan(c: CompiledMessage, s: ScanState, end: number, depth: number): void {
  if (depth > MAX_DEPTH)
    throw new MalformedError('messages nested too deeply', { messageName: s.messageName });
  const counts = c.hasRepeated ? new Uint32Array(c.fields.length) : undefined;
  let oneofSeen: number[] | undefined;
  while (s.pos < end) {
    const tag = readVarint(s, end);
    if (tag > MAX_UINT32)
      throw new MalformedError('tag exceeds 32 bits', { messageName: s.messageName });
    const id = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (id === 0) throw new MalformedError('field number 0', { messageName: s.messageName });
    const f = c.byId[id];
    if (f === undefined) {
      skipUnknown(s, wireType, end);
      continue;
    }
    if (f.oneofIndex >= 0) {
      oneofSeen ??= [];
      const prev = oneofSeen[f.oneofIndex];
      if (prev !== undefined && prev !== f.index) throw invalid(f, s, 'two members of one oneof');
      oneofSeen[f.oneofIndex] = f.index;
    }
    switch (f.kind) {
      case 'uint32':
      case 'uint64':
      case 'bool':
      case 'enum': {
        if (wireType === 0) {
          checkScalar(f, s, readVarint(s, end));
          if (f.repeated) countElement(f, s, counts!);
        } else if (wireType === 2 && f.repeated) {
          // Packed repeated scalars.
          const len = readVarint(s, end);
          if (len > end - s.pos)
            throw new TruncatedError(`${f.path}: packed values run past the end`, {
              messageName: s.messageName,
              field: f.path,
            });
          const stop = s.pos + len;
          while (s.pos < stop) {
            checkScalar(f, s, readVarint(s, stop));
            countElement(f, s, counts!);
          }
        } else {
          throw invalid(f, s, `wire type ${wireType} for a ${f.kind}`);
        }
        break;
      }
      case 'string':
      case 'bytes':
      case 'message': {
        if (wireType !== 2) throw invalid(f, s, `wire type ${wireType} for a ${f.kind}`);
        const len = readVarint(s, end);
        if (len > end - s.pos)
          throw new TruncatedError(`${f.path}: value runs past the end`, {
            messageName: s.messageName,
            field: f.path,
          });
        if (f.repeated) countElement(f, s, counts!);
        const stop = s.pos + len;
        if (f.kind === 'message') {
          scan(f.message!, s, stop, depth + 1);
        } else {
          if (len > f.maxLen) throw invalid(f, s, `longer than ${f.maxLen} bytes`);
          if (f.kind === 'string' && len > 0 && !isUtf8(s.buf.subarray(s.pos, stop))) {
            throw invalid(f, s, 'invalid UTF-8');
          }
          s.pos = stop;
        }
        break;
      }
    }
  }
  if (s.pos !== end)
    throw new TruncatedError('value runs past the end of its message', {
      messageName: s.messageName,
    });
}

/**
 * Checks the protobuf bytes of one message against its schema, allocating nothing per element.
 *
 * @throws {ProtocolError} on anything the generated decoder must not see
 */
export function scanMessage(c: CompiledMessage, buf: Uint8Array, options?: DecodeOptions): void {
  const s: ScanState = {
    buf,
    pos: 0,
    elements: 0,
    maxElements: options?.maxElements ?? DEFAULT_MAX_ELEMENTS,
    messageName: c.name,
  };
  scan(c, s, buf.length, 0);
}

// ---------------------------------------------------------------------------------------------
// Normalisation of decoded objects

interface LongLike {
  readonly low: number;
  readonly high: number;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  // A `Long` from protobufjs; the scan has already checked it is below 2^53.
  const l = v as LongLike;
  return (l.high >>> 0) * 0x1_0000_0000 + (l.low >>> 0);
}

function fail(f: CompiledField, messageName: string, why: string): InvalidFieldError {
  return new InvalidFieldError(`${f.path}: ${why}`, { messageName, field: f.path });
}

function checkLength(f: CompiledField, len: number, messageName: string): void {
  if (len < f.minLen) {
    throw fail(
      f,
      messageName,
      f.schema.len !== undefined
        ? `must be exactly ${f.schema.len} bytes`
        : len === 0
          ? 'required'
          : `shorter than ${f.minLen} bytes`,
    );
  }
  if (len > f.maxLen) throw fail(f, messageName, `longer than ${f.maxLen} bytes`);
}

function normalizeValue(f: CompiledField, v: unknown, messageName: string): unknown {
  switch (f.kind) {
    case 'uint64':
      return toNumber(v);
    case 'string': {
      const str = v as string;
      if (f.minLen > 0) checkLength(f, Buffer.byteLength(str), messageName);
      return str;
    }
    case 'bytes': {
      const b = v as Uint8Array;
      checkLength(f, b.length, messageName);
      return b;
    }
    case 'message':
      return normalizeObject(f.message!, v as Record<string, unknown>, messageName);
    default:
      return v;
  }
}

/**
 * Copies a generated decoder's result into a plain object, filling defaults and checking
 * presence rules.
 *
 * @throws {InvalidFieldError} when a required field, exact length or oneof is not satisfied
 */
export function normalizeObject(
  c: CompiledMessage,
  decoded: Record<string, unknown>,
  messageName: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of c.fields) {
    const v = decoded[f.name];
    if (f.oneofIndex >= 0) {
      if (v === null || v === undefined) continue;
      out[f.name] = normalizeValue(f, v, messageName);
      out[f.schema.oneof!] = f.name;
      continue;
    }
    if (f.repeated) {
      const arr = (v as unknown[] | undefined) ?? [];
      const copy = new Array<unknown>(arr.length);
      for (let i = 0; i < arr.length; i++) copy[i] = normalizeValue(f, arr[i], messageName);
      out[f.name] = copy;
      continue;
    }
    if (f.kind === 'message') {
      if (v === null || v === undefined) {
        if (f.schema.required === true) throw fail(f, messageName, 'required');
        continue;
      }
      out[f.name] = normalizeValue(f, v, messageName);
      continue;
    }
    let value = normalizeValue(f, v ?? (f.kind === 'bytes' ? EMPTY : undefined), messageName);
    if (f.kind === 'bytes' && (value as Uint8Array).length === 0) value = EMPTY;
    if (f.schema.required === true && (value === 0 || value === false || value === '')) {
      throw fail(f, messageName, 'required');
    }
    out[f.name] = value;
  }
  for (const o of c.schema.oneofs) {
    if (out[o] === undefined) {
      throw new InvalidFieldError(`${c.name}.${o}: exactly one member must be set`, {
        messageName,
        field: `${c.name}.${o}`,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoder input checks

function bad(path: string, why: string, type: 'type' | 'range' = 'range'): Error {
  return type === 'type' ? new TypeError(`${path}: ${why}`) : new RangeError(`${path}: ${why}`);
}

function checkInitValue(f: CompiledField, v: unknown, path: string): void {
  switch (f.kind) {
    case 'uint32':
      if (typeof v !== 'number') throw bad(path, 'must be a number', 'type');
      if (!Number.isInteger(v) || v < 0 || v > MAX_UINT32)
        throw bad(path, 'must be an integer in 0..2^32-1');
      return;
    case 'uint64':
      if (typeof v !== 'number') throw bad(path, 'must be a number', 'type');
      if (!Number.isSafeInteger(v) || v < 0) throw bad(path, 'must be an integer in 0..2^53-1');
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw bad(path, 'must be a boolean', 'type');
      return;
    case 'enum':
      if (typeof v !== 'number') throw bad(path, 'must be a number', 'type');
      if (!f.enumValues!.has(v)) throw bad(path, `unknown enum value ${v}`);
      return;
    case 'string': {
      if (typeof v !== 'string') throw bad(path, 'must be a string', 'type');
      const n = Buffer.byteLength(v);
      if (n > f.maxLen) throw bad(path, `longer than ${f.maxLen} bytes`);
      if (n < f.minLen) throw bad(path, n === 0 ? 'required' : `shorter than ${f.minLen} bytes`);
      return;
    }
    case 'bytes': {
      if (!(v instanceof Uint8Array)) throw bad(path, 'must be a Uint8Array', 'type');
      if (v.length > f.maxLen) throw bad(path, `longer than ${f.maxLen} bytes`);
      if (v.length < f.minLen) {
        throw bad(
          path,
          f.schema.len !== undefined
            ? `must be exactly ${f.schema.len} bytes`
            : v.length === 0
              ? 'required'
              : `shorter than ${f.minLen} bytes`,
        );
      }
      return;
    }
    case 'message':
      if (typeof v !== 'object' || v === null) throw bad(path, 'must be an object', 'type');
      checkInitObject(f.message!, v as Record<string, unknown>, path);
      return;
  }
}

/**
 * Checks an encoder's input against the schema.
 *
 * @throws {TypeError} when a field has the wrong JavaScript type
 * @throws {RangeError} when a value breaks a limit, a required field is missing, or a oneof has
 *   no or several members
 */
export function checkInitObject(
  c: CompiledMessage,
  value: Record<string, unknown>,
  path = c.name,
): void {
  let oneofSet: (string | undefined)[] | undefined;
  for (const f of c.fields) {
    const v = value[f.name];
    const p = `${path}.${f.name}`;
    if (v === undefined || v === null) {
      if (f.oneofIndex >= 0) continue;
      if (f.schema.required === true || f.minLen > 0) throw bad(p, 'required');
      continue;
    }
    if (f.oneofIndex >= 0) {
      oneofSet ??= [];
      const prev = oneofSet[f.oneofIndex];
      if (prev !== undefined) throw bad(p, `oneof ${f.schema.oneof} already has ${prev}`);
      oneofSet[f.oneofIndex] = f.name;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw bad(p, 'must be an array', 'type');
      if (v.length > f.maxCount) throw bad(p, `more than ${f.maxCount} elements`);
      for (let i = 0; i < v.length; i++) checkInitValue(f, v[i], `${p}[${i}]`);
      continue;
    }
    checkInitValue(f, v, p);
    if (f.schema.required === true && (v === 0 || v === false || v === ''))
      throw bad(p, 'required');
  }
  for (let i = 0; i < c.schema.oneofs.length; i++) {
    if (oneofSet?.[i] === undefined)
      throw bad(`${path}.${c.schema.oneofs[i]}`, 'exactly one member must be set');
  }
}
