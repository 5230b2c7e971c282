const encoder = new TextEncoder();

/** Longest protocol name, in UTF-8 bytes (the `MuxOpen.protocol` schema limit). */
export const MAX_PROTOCOL_NAME_BYTES = 128;

/**
 * Checks a stream protocol name: a string of 1 to 128 UTF-8 bytes.
 *
 * @throws {TypeError} when `name` is not a string
 * @throws {RangeError} when it is empty or too long
 */
export function checkProtocolName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError('protocol must be a string');
  const bytes = encoder.encode(name).length;
  if (bytes < 1 || bytes > MAX_PROTOCOL_NAME_BYTES) {
    throw new RangeError(`protocol must be 1..${MAX_PROTOCOL_NAME_BYTES} UTF-8 bytes`);
  }
}
