// Protocol-wide constants.

/** The protocol version this release speaks. */
export const PROTOCOL_VERSION = 1;
/** Every protocol version this release can speak, ascending. */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([1]);
/** Default {@link FrameOptions.maxFrameBytes}: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Largest configurable {@link FrameOptions.maxFrameBytes}: 256 MiB. */
export const MAX_FRAME_BYTES_LIMIT = 256 * 1024 * 1024;
/** Most bytes a frame's length prefix can take. */
export const MAX_LENGTH_PREFIX_BYTES = 5;
