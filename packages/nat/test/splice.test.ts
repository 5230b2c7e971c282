import { describe, expect, it } from '@jest/globals';
import { splice } from '../src/splice.js';
import { duplexPair } from './support/duplex-pair.js';

describe('splice', () => {
  it('carries both directions and ends when both sides end', async () => {
    const [a, a2] = duplexPair();
    const [b, b2] = duplexPair();
    const done = splice(a2, b2, { maxBytesPerDirection: 0, maxDurationMs: 0 });
    const gotB: Buffer[] = [];
    const gotA: Buffer[] = [];
    b.on('data', (c: Buffer) => gotB.push(c));
    a.on('data', (c: Buffer) => gotA.push(c));
    a.write('to b');
    b.write('to a');
    a.end();
    b.end();
    const r = await done;
    expect(r).toEqual({ reason: 'ended', bytesAtoB: 4, bytesBtoA: 4 });
    expect(Buffer.concat(gotB).toString()).toBe('to b');
    expect(Buffer.concat(gotA).toString()).toBe('to a');
  });

  it('cuts both sides at the byte limit', async () => {
    const [a, a2] = duplexPair();
    const [b, b2] = duplexPair();
    b.resume();
    const done = splice(a2, b2, { maxBytesPerDirection: 1000, maxDurationMs: 0 });
    a.write(Buffer.alloc(600));
    a.write(Buffer.alloc(600));
    expect((await done).reason).toBe('limit');
    expect(a2.destroyed && b2.destroyed).toBe(true);
  });

  it('cuts both sides at the duration limit', async () => {
    const [, a2] = duplexPair();
    const [, b2] = duplexPair();
    const t0 = Date.now();
    expect((await splice(a2, b2, { maxBytesPerDirection: 0, maxDurationMs: 100 })).reason).toBe(
      'limit',
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });
});
