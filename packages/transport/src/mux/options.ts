// Stream multiplexer settings: user options with their defaults, validated once per transport.

/**
 * Receive window every stream starts with in both directions, before any `MuxWindowUpdate`. A
 * side that wants a larger window announces it (`MuxOpen.windowBytes` for the opener, a window
 * update right after accepting for the acceptor); windows never shrink below this.
 */
export const BASE_WINDOW_BYTES = 64 * 1024;

/** Options of the stream multiplexer (TCP and in-memory connections; QUIC uses its own windows). */
export interface MuxInit {
  /**
   * Concurrent bidirectional streams the remote may open to us; more are refused with
   * `StreamRefusedError` on the remote's side. The same number caps our own open outbound
   * bidirectional streams (`StreamLimitError`).
   *
   * @default 100
   */
  maxBidirectionalStreams?: number;
  /**
   * As {@link MuxInit.maxBidirectionalStreams}, for unidirectional streams.
   *
   * @default 100
   */
  maxUnidirectionalStreams?: number;
  /**
   * Receive window of each stream: the most bytes the remote may send on it before we read them.
   * It bounds the memory a stream's unread data takes.
   *
   * @default 262144 (256 KiB)
   */
  streamWindowBytes?: number;
  /**
   * Largest receive window a stream grows to. A stream starts at `streamWindowBytes`; each time
   * its reader consumed half of it again within two round trips (10 ms at least), so that the
   * window rather than the reader limits the stream, the window doubles, up to this and within
   * `maxConnectionWindowBytes` for all streams of the connection. A slow reader never makes it
   * grow, and unread data always stays within the window reached.
   *
   * @default 4194304 (4 MiB)
   */
  maxStreamWindowBytes?: number;
  /**
   * Total window growth (beyond each stream's initial window) all streams of a connection may
   * have at once.
   *
   * @default 16777216 (16 MiB)
   */
  maxConnectionWindowBytes?: number;
  /**
   * A connection with no open stream for this long is closed gracefully; 0 disables it.
   *
   * @default 30000
   */
  idleTimeoutMs?: number;
  /**
   * Interval between keepalive pings (each one measures the round trip); 0 disables them.
   *
   * @default 10000
   */
  keepaliveIntervalMs?: number;
  /**
   * A ping unanswered for this long aborts the connection with a `TimeoutError`.
   *
   * @default 20000
   */
  keepaliveTimeoutMs?: number;
  /**
   * Most time `close()` waits for open streams to finish when its caller gives no signal.
   *
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Bytes queued for sending (all streams) above which writers wait for `'drain'`.
   *
   * @default 1048576 (1 MiB)
   */
  sendBufferBytes?: number;
  /**
   * Bytes of control frames the remote can make us queue while not reading (pongs, window
   * updates, resets) before the connection is aborted as unresponsive.
   *
   * @default 4194304 (4 MiB)
   */
  maxControlBufferBytes?: number;
}

/** {@link MuxInit} with every default applied. */
export type MuxSettings = Required<MuxInit>;

/** The defaults of {@link MuxInit}. */
export const MUX_DEFAULTS: Readonly<MuxSettings> = Object.freeze({
  maxBidirectionalStreams: 100,
  maxUnidirectionalStreams: 100,
  streamWindowBytes: 256 * 1024,
  maxStreamWindowBytes: 4 * 1024 * 1024,
  maxConnectionWindowBytes: 16 * 1024 * 1024,
  idleTimeoutMs: 30_000,
  keepaliveIntervalMs: 10_000,
  keepaliveTimeoutMs: 20_000,
  closeTimeoutMs: 5_000,
  sendBufferBytes: 1024 * 1024,
  maxControlBufferBytes: 4 * 1024 * 1024,
});

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}`);
  }
  return value;
}

/**
 * Applies defaults and validates.
 *
 * @throws {RangeError} for an option out of range
 */
export function resolveMuxInit(init: MuxInit = {}): MuxSettings {
  const s = { ...MUX_DEFAULTS, ...stripUndefined(init) };
  const day = 86_400_000;
  return {
    maxBidirectionalStreams: int('maxBidirectionalStreams', s.maxBidirectionalStreams, 0, 65_536),
    maxUnidirectionalStreams: int(
      'maxUnidirectionalStreams',
      s.maxUnidirectionalStreams,
      0,
      65_536,
    ),
    streamWindowBytes: int('streamWindowBytes', s.streamWindowBytes, BASE_WINDOW_BYTES, 2 ** 30),
    maxStreamWindowBytes: int(
      'maxStreamWindowBytes',
      Math.max(s.maxStreamWindowBytes, s.streamWindowBytes),
      BASE_WINDOW_BYTES,
      2 ** 30,
    ),
    maxConnectionWindowBytes: int(
      'maxConnectionWindowBytes',
      s.maxConnectionWindowBytes,
      0,
      2 ** 31,
    ),
    idleTimeoutMs: int('idleTimeoutMs', s.idleTimeoutMs, 0, day),
    keepaliveIntervalMs: int('keepaliveIntervalMs', s.keepaliveIntervalMs, 0, day),
    keepaliveTimeoutMs: int('keepaliveTimeoutMs', s.keepaliveTimeoutMs, 1, day),
    closeTimeoutMs: int('closeTimeoutMs', s.closeTimeoutMs, 0, day),
    sendBufferBytes: int('sendBufferBytes', s.sendBufferBytes, 1024, 2 ** 30),
    maxControlBufferBytes: int('maxControlBufferBytes', s.maxControlBufferBytes, 65_536, 2 ** 30),
  };
}

/** A copy of `o` without its undefined fields (so they do not hide defaults). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
