// The handshake reader: messages split and joined across chunks, bounded buffering against a
// flood, and the bytes past the last message handed back with the stream paused.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { HandshakeReader, frameHandshakeMessage } from '../../src/handshake/reader.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('handshake reader', () => {
  it('reads messages split across chunks and several in one chunk, then hands back the rest', async () => {
    const stream = new PassThrough();
    const reader = new HandshakeReader(stream, 1024);
    const a = frameHandshakeMessage(new Uint8Array(100).fill(1));
    const b = frameHandshakeMessage(new Uint8Array(3).fill(2));
    stream.write(a.subarray(0, 1));
    stream.write(a.subarray(1, 50));
    const first = reader.read();
    stream.write(Buffer.concat([a.subarray(50), b, Buffer.from([9, 9])]));
    expect(await first).toEqual(new Uint8Array(100).fill(1));
    expect(await reader.read()).toEqual(new Uint8Array(3).fill(2));
    const rest = reader.release();
    expect([...rest]).toEqual([9, 9]);
    expect(stream.isPaused()).toBe(true);
  });

  it('with no message awaited, buffers about one message and leaves the flood in the stream', async () => {
    const stream = new PassThrough({ highWaterMark: 16 * 1024 });
    const reader = new HandshakeReader(stream, 1024);
    let accepted = 0;
    for (let i = 0; i < 64; i++) if (stream.write(Buffer.alloc(1024, 7))) accepted++;
    await tick();
    await tick();
    expect(stream.isPaused()).toBe(true);
    // The stream's own buffers filled up: the writer is told to wait.
    expect(accepted).toBeLessThan(64);
    expect(stream.readableLength).toBeGreaterThan(0);
    // A read resumes it: 0x0707 = 1799 bytes is over the limit, a typed failure.
    await expect(reader.read()).rejects.toMatchObject({ reason: 'message-too-large' });
    reader.release();
  });

  it('fails a pending read when the stream ends', async () => {
    const stream = new PassThrough();
    const reader = new HandshakeReader(stream, 1024);
    const pending = reader.read();
    stream.end();
    await expect(pending).rejects.toMatchObject({ reason: 'closed' });
  });
});
