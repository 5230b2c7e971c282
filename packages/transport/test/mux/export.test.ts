import { afterEach, describe, expect, it } from '@jest/globals';
import { noopLogger, parseAddress, systemClock } from '@detr/interface';
import { PROTOCOL_VERSION } from '@detr/protocol';
import { readAll } from '@detr/compliance';
import { createMuxConnection, type MuxedConnection } from '../../src/index.js';
import { fakePeerId, recordingReporter, registry } from '../support/fakes.js';
import { createPlainPipePair } from '../support/plain-pipe.js';

const open: MuxedConnection[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.abort();
});

describe('createMuxConnection (the exported multiplexer)', () => {
  it('runs over any MessagePipe and reports the remote accepting', async () => {
    const [a, b] = createPlainPipePair();
    const mk = (pipe: typeof a, direction: 'inbound' | 'outbound', reg = registry()) =>
      createMuxConnection(
        {
          pipe,
          registry: reg,
          reporter: recordingReporter(),
          clock: systemClock,
          logger: noopLogger,
        },
        {
          id: direction,
          remote: {
            peer: fakePeerId(),
            protocolVersion: PROTOCOL_VERSION,
            features: [],
            networkId: '00',
          },
          remoteAddress: parseAddress('/memory/x'),
          direction,
          transport: 'test',
          version: PROTOCOL_VERSION,
        },
        { idleTimeoutMs: 0 },
      );
    const dialer = mk(a, 'outbound');
    const listener = mk(b, 'inbound', registry({ '/echo/1': (s) => void s.pipe(s) }));
    open.push(dialer, listener);
    dialer.start();
    listener.start();
    await dialer.ready();
    const s = await dialer.newStream('/echo/1');
    s.end('via the export');
    expect((await readAll(s)).toString()).toBe('via the export');
    expect(() =>
      createMuxConnection(
        {
          pipe: a,
          registry: registry(),
          reporter: recordingReporter(),
          clock: systemClock,
          logger: noopLogger,
        },
        dialer as never,
        { maxBidirectionalStreams: -1 },
      ),
    ).toThrow(RangeError);
  });
});
