// TEMPORARY, pending an export: @detr/transport does not export its multiplexer (MuxConnection /
// resolveMuxInit), which nat's WebRTC transport takes as its `mux` component. Until its index
// exports a factory, tools and tests reach it by path; this file is the only place that does.
import type { ComplianceEndpointOptions } from '@detr/compliance';
import type { PeerReporter, StreamRegistry } from '@detr/interface';
import { noopLogger, systemClock } from '@detr/interface';
import { randomBytes } from 'node:crypto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- pending the export (see above)
import { MuxConnection } from '../../../transport/src/mux/connection.js';
// eslint-disable-next-line @nx/enforce-module-boundaries -- pending the export (see above)
import { resolveMuxInit } from '../../../transport/src/mux/options.js';
import type { MuxFactory } from '../../src/webrtc/secure.js';

export function muxFactory(
  c: { registry: StreamRegistry; reporter: PeerReporter },
  o: ComplianceEndpointOptions = {},
): MuxFactory {
  const settings = resolveMuxInit({
    ...(o.maxBidirectionalStreams !== undefined
      ? { maxBidirectionalStreams: o.maxBidirectionalStreams }
      : {}),
    ...(o.maxUnidirectionalStreams !== undefined
      ? { maxUnidirectionalStreams: o.maxUnidirectionalStreams }
      : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    ...(o.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: o.keepaliveIntervalMs } : {}),
  });
  return (pipe, info) => {
    const conn = new MuxConnection(
      { pipe, registry: c.registry, reporter: c.reporter, clock: systemClock, logger: noopLogger },
      {
        id: `webrtc-${randomBytes(6).toString('hex')}`,
        ...info,
        version: info.remote.protocolVersion,
      },
      settings,
    );
    conn.start();
    return conn;
  };
}
