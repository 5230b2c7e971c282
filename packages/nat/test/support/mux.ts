// The multiplexer the tests' WebRTC endpoints run: @detr/transport's, through nat's factory, with
// the compliance suite's options.
import type { ComplianceEndpointOptions } from '@detr/compliance';
import type { PeerReporter, StreamRegistry } from '@detr/interface';
import { createMuxFactory } from '../../src/webrtc/mux.js';
import type { MuxFactory } from '../../src/webrtc/secure.js';

export function muxFactory(
  c: { registry: StreamRegistry; reporter: PeerReporter },
  o: ComplianceEndpointOptions = {},
): MuxFactory {
  return createMuxFactory(c, {
    ...(o.maxBidirectionalStreams !== undefined
      ? { maxBidirectionalStreams: o.maxBidirectionalStreams }
      : {}),
    ...(o.maxUnidirectionalStreams !== undefined
      ? { maxUnidirectionalStreams: o.maxUnidirectionalStreams }
      : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    ...(o.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: o.keepaliveIntervalMs } : {}),
  });
}
