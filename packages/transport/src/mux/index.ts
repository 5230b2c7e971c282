// The multiplexer as a building block for other transports (nat's WebRTC runs it over a data
// channel): any MessagePipe in, a Connection out.
import type { Connection } from '@detr/interface';
import { MuxConnection, type MuxComponents, type MuxConnectionInfo } from './connection.js';
import { resolveMuxInit, type MuxInit } from './options.js';

export type { MuxComponents, MuxConnectionInfo } from './connection.js';

/** A connection of the detr multiplexer, before and after it was started. */
export interface MuxedConnection extends Connection {
  /** Starts reading the pipe, keepalive and the idle timer. Call once. */
  start(): void;
  /**
   * Resolves on the first frame from the remote (its initial ping): it accepted the connection.
   * Rejects if the connection closes first. A dialer waits for it before handing the connection
   * up, so that a listener's refusal makes the dial fail.
   */
  ready(): Promise<void>;
}

/**
 * The detr stream multiplexer over `components.pipe` (a channel of authenticated plaintext
 * messages: the Noise session over TCP in this package, a data channel in nat's WebRTC). Run the
 * handshake first: nothing here authenticates.
 *
 * @throws {RangeError} for options out of range
 * @example
 * ```ts
 * const conn = createMuxConnection(
 *   { pipe, registry, reporter, clock, logger },
 *   { id, remote, remoteAddress, direction: 'outbound', transport: 'webrtc', version: remote.protocolVersion },
 *   { idleTimeoutMs: 60_000 },
 * )
 * conn.start()
 * await conn.ready()
 * ```
 */
export function createMuxConnection(
  components: MuxComponents,
  info: MuxConnectionInfo,
  init: MuxInit = {},
): MuxedConnection {
  return new MuxConnection(components, info, resolveMuxInit(init));
}
