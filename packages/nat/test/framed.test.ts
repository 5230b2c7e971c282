import { describe, expect, it } from '@jest/globals';
import { encodeFrame, MessageType } from '@detr/protocol';
import { readMessage, writeMessage } from '../src/framed.js';
import { duplexPair } from './support/duplex-pair.js';

const opts = { maxFrameBytes: 4096 };

describe('framed messages', () => {
  it('reads one frame at a time and leaves the bytes after it in the stream', async () => {
    const [a, b] = duplexPair();
    const frame = encodeFrame(MessageType.RelayRequest, { reserve: {} });
    a.write(Buffer.concat([frame, Buffer.from('raw bytes')]));
    const r = await readMessage(b, [MessageType.RelayRequest], opts);
    expect(r.type).toBe(MessageType.RelayRequest);
    expect(r.message.body).toBe('reserve');
    const rest = await new Promise<Buffer>((resolve) => b.once('data', resolve));
    expect(rest.toString()).toBe('raw bytes');
  });

  it('reassembles a frame written one byte at a time', async () => {
    const [a, b] = duplexPair();
    const frame = encodeFrame(MessageType.RelayStop, { source: new Uint8Array(33).fill(1) });
    const p = readMessage(b, [MessageType.RelayStop], opts);
    for (const byte of frame) {
      a.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    expect((await p).message.source).toHaveLength(33);
  });

  it('round-trips through writeMessage', async () => {
    const [a, b] = duplexPair();
    await writeMessage(
      a,
      MessageType.DialBackResponse,
      { status: 1, address: '/ip4/127.0.0.1/tcp/1' },
      4096,
    );
    expect((await readMessage(b, [MessageType.DialBackResponse], opts)).message.address).toBe(
      '/ip4/127.0.0.1/tcp/1',
    );
  });

  it('rejects oversized, unexpected and malformed frames with ProtocolViolationError', async () => {
    const big = duplexPair();
    big[0].write(Buffer.from([0xff, 0xff, 0x03]));
    await expect(readMessage(big[1], [MessageType.RelayRequest], opts)).rejects.toMatchObject({
      name: 'ProtocolViolationError',
    });
    const other = duplexPair();
    other[0].write(encodeFrame(MessageType.RelayStop, { source: new Uint8Array(3) }));
    await expect(readMessage(other[1], [MessageType.RelayRequest], opts)).rejects.toMatchObject({
      name: 'ProtocolViolationError',
    });
    const junk = duplexPair();
    junk[0].write(Buffer.from([3, 1, 96, 0xff]));
    await expect(readMessage(junk[1], [MessageType.RelayRequest], opts)).rejects.toMatchObject({
      name: 'ProtocolViolationError',
    });
    const varint = duplexPair();
    varint[0].write(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
    await expect(readMessage(varint[1], [MessageType.RelayRequest], opts)).rejects.toMatchObject({
      name: 'ProtocolViolationError',
    });
  });

  it('fails with ClosedError on end, and with TimeoutError on a silent stream', async () => {
    const [a, b] = duplexPair();
    const p = readMessage(b, [MessageType.RelayRequest], opts);
    a.end();
    await expect(p).rejects.toMatchObject({ name: 'ClosedError' });
    const [, d] = duplexPair();
    await expect(
      readMessage(d, [MessageType.RelayRequest], { ...opts, signal: AbortSignal.timeout(50) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
