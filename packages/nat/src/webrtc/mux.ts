// The detr stream multiplexer of @detr/transport as the `mux` component of the WebRTC transport
// and of circuits: one factory building a started MuxConnection over an authenticated pipe.
import type { Clock, Logger, PeerReporter, StreamRegistry } from '@detr/interface';
import { noopLogger, noopPeerReporter, systemClock } from '@detr/interface';
import { createMuxConnection, type MuxInit } from '@detr/transport';
import { randomBytes } from 'node:crypto';
import type { MuxFactory } from './secure.js';

/** What {@link createMuxFactory} needs. */
export interface MuxFactoryComponents {
  /** Where inbound streams go: the node's protocol handlers. */
  registry: StreamRegistry;
  /** Told about remotes that break the mux protocol. @default no penalties */
  reporter?: PeerReporter;
  /** @default the system clock */
  clock?: Clock;
  /** @default no logging */
  logger?: Logger;
}

/**
 * A {@link MuxFactory} running `@detr/transport`'s multiplexer (its `createMuxConnection`) over
 * each authenticated pipe, the same mux the TCP and QUIC transports use.
 *
 * @param init the multiplexer's options (stream limits, windows, idle timeout, keepalive)
 * @default init {} (`@detr/transport`'s MUX_DEFAULTS)
 * @throws {RangeError} for multiplexer options out of range (when a connection is built)
 * @example
 * ```ts
 * const mux = createMuxFactory({ registry: manager, reporter: peers }, { idleTimeoutMs: 60_000 })
 * const webrtc = createWebRTCTransport({ peerId, handshake, mux, signaling }, {})
 * ```
 */
export function createMuxFactory(components: MuxFactoryComponents, init: MuxInit = {}): MuxFactory {
  const deps = {
    registry: components.registry,
    reporter: components.reporter ?? noopPeerReporter,
    clock: components.clock ?? systemClock,
    logger: components.logger ?? noopLogger,
  };
  return (pipe, info) => {
    const conn = createMuxConnection(
      { ...deps, pipe },
      {
        id: `${info.transport}-${randomBytes(6).toString('hex')}`,
        ...info,
        version: info.remote.protocolVersion,
      },
      init,
    );
    conn.start();
    return conn;
  };
}
