// TEST ONLY: two multiplexed connections over a plaintext pipe pair.
import type { Clock, StreamRegistry } from '@detr/interface';
import { noopLogger, systemClock } from '@detr/interface';
import { PROTOCOL_VERSION } from '@detr/protocol';
import { parseAddress } from '@detr/interface';
import { MuxConnection } from '../../src/mux/connection.js';
import { resolveMuxInit, type MuxInit } from '../../src/mux/options.js';
import { createPlainPipePair, type PlainPipe } from './plain-pipe.js';
import { fakePeerId, recordingReporter, registry, type RecordingReporter } from './fakes.js';

export interface MuxPair {
  dialer: MuxConnection;
  listener: MuxConnection;
  dialerPipe: PlainPipe;
  listenerPipe: PlainPipe;
  dialerReporter: RecordingReporter;
  listenerReporter: RecordingReporter;
  close(): void;
}

export function muxPair(
  options: {
    dialer?: MuxInit;
    listener?: MuxInit;
    dialerRegistry?: StreamRegistry;
    listenerRegistry?: StreamRegistry;
    clock?: Clock;
    maxMessageBytes?: number;
    highWaterMark?: number;
    record?: boolean;
    /** No multiplexer on the dialer's side: its pipe is driven by the test (hostile input). */
    rawDialer?: boolean;
  } = {},
): MuxPair {
  const [dp, lp] = createPlainPipePair(options);
  const dialerPeer = fakePeerId();
  const listenerPeer = fakePeerId();
  const dialerReporter = recordingReporter();
  const listenerReporter = recordingReporter();
  const clock = options.clock ?? systemClock;
  const addr = parseAddress('/memory/test');
  const mk = (
    pipe: PlainPipe,
    reporter: RecordingReporter,
    reg: StreamRegistry,
    direction: 'inbound' | 'outbound',
    remotePeer: ReturnType<typeof fakePeerId>,
    init: MuxInit | undefined,
  ): MuxConnection =>
    new MuxConnection(
      { pipe, registry: reg, reporter, clock, logger: noopLogger },
      {
        id: `${direction}-${Math.random().toString(16).slice(2, 8)}`,
        remote: {
          peer: remotePeer,
          protocolVersion: PROTOCOL_VERSION,
          features: [],
          networkId: '00',
        },
        remoteAddress: addr,
        direction,
        transport: 'test',
        version: PROTOCOL_VERSION,
      },
      resolveMuxInit({ keepaliveIntervalMs: 0, idleTimeoutMs: 0, ...init }),
    );
  const dialer = mk(
    dp,
    dialerReporter,
    options.dialerRegistry ?? registry(),
    'outbound',
    listenerPeer,
    options.dialer,
  );
  const listener = mk(
    lp,
    listenerReporter,
    options.listenerRegistry ?? registry(),
    'inbound',
    dialerPeer,
    options.listener,
  );
  if (options.rawDialer === true) {
    dp.start({ onMessage: () => {}, onDrain: () => {}, onEnd: () => {}, onError: () => {} });
  } else dialer.start();
  listener.start();
  return {
    dialer,
    listener,
    dialerPipe: dp,
    listenerPipe: lp,
    dialerReporter,
    listenerReporter,
    close() {
      dialer.abort();
      listener.abort();
    },
  };
}
