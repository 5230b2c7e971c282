// TEMPORARY, pending an export: @detr/transport does not export its multiplexer (MuxConnection /
// resolveMuxInit), which nat's WebRTC transport takes as its `mux` component. Until its index
// exports a factory, tools and tests reach it by path; this file is the only place that does.
import type { PeerReporter, StreamRegistry } from '@detr/interface';
import { noopLogger, systemClock } from '@detr/interface';
import type { MuxFactory } from '@detr/nat';
import { randomBytes } from 'node:crypto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- pending the export (see above)
import { MuxConnection } from '../../../../packages/transport/src/mux/connection.js';
// eslint-disable-next-line @nx/enforce-module-boundaries -- pending the export (see above)
import { resolveMuxInit } from '../../../../packages/transport/src/mux/options.js';

export function labMux(registry: StreamRegistry, reporter: PeerReporter): MuxFactory {
  const settings = resolveMuxInit({});
  return (pipe, info) => {
    const conn = new MuxConnection(
      { pipe, registry, reporter, clock: systemClock, logger: noopLogger },
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
