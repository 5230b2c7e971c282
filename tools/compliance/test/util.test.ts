import { describe, expect, it } from '@jest/globals';
import { PassThrough, type Duplex } from 'node:stream';
import type { Stream } from '@detr/interface';
import { TRANSPORT_CASES, delay, readAll, streamError, waitFor, within } from '../src/index.js';

const asStream = (d: Duplex): Stream => d as unknown as Stream;

describe('compliance helpers', () => {
  it('lists every case the transport issue requires', () => {
    for (const required of [
      'echo',
      '100 concurrent streams',
      'bulk through one stream with a slow reader',
      'stream limit enforced',
      'remote reset',
      'abort mid-dial',
      'close during in-flight writes (graceful)',
      'close during in-flight writes (abort)',
      'idle timeout',
      'keepalive RTT reported',
      'malformed frame',
      'peer without token refused',
    ]) {
      expect(TRANSPORT_CASES).toContain(required);
    }
  });

  it('readAll reads to the end without destroying the writable side', async () => {
    const p = new PassThrough({ allowHalfOpen: true });
    const done = readAll(asStream(p));
    p.end('abc');
    expect((await done).toString()).toBe('abc');
  });

  it('readAll and streamError report a failed stream', async () => {
    const p = new PassThrough();
    p.on('error', () => {});
    const r = readAll(asStream(p));
    const e = streamError(asStream(p));
    p.destroy(new Error('boom'));
    await expect(r).rejects.toThrow('boom');
    expect((await e).message).toBe('boom');
  });

  it('within and waitFor give up after their time', async () => {
    await expect(within(new Promise(() => {}), 20, 'never')).rejects.toThrow('never');
    await expect(waitFor(() => false, 30, 'false')).rejects.toThrow('false');
    let flag = false;
    setTimeout(() => (flag = true), 10);
    await waitFor(() => flag, 1000, 'flag');
    await delay(1);
  });
});
