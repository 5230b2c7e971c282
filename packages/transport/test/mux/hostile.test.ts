import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ProtocolViolationError } from '@detr/interface';
import { MessageType, encodeDataFrame, encodeFrame } from '@detr/protocol';
import { registry } from '../support/fakes.js';
import { muxPair, type MuxPair } from '../support/mux-pair.js';

let pair: MuxPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const closeOf = (c: { onClose(l: (e?: Error) => void): void }): Promise<Error | undefined> =>
  new Promise((resolve) => c.onClose(resolve));

const open = (id: number, protocol = '/hold/1'): Uint8Array =>
  encodeFrame(MessageType.MuxOpen, { streamId: id, protocol });

/** Injects `bytes` from the dialer's side and returns how the listener closed. */
async function injected(
  ...messages: Uint8Array[]
): Promise<{ err: Error | undefined; reasons: string[] }> {
  pair = muxPair({ rawDialer: true, listenerRegistry: registry({ '/hold/1': () => {} }) });
  const closed = closeOf(pair.listener);
  for (const m of messages) pair.dialerPipe.inject(m);
  const err = await closed;
  return { err, reasons: pair.listenerReporter.penalties.map((p) => p.reason) };
}

describe('mux hostile input', () => {
  it.each([
    ['garbage', [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)], 'invalid-message'],
    ['a frame too large', [Uint8Array.of(0xff, 0xff, 0x7f)], 'invalid-message'],
    [
      'a frame of another protocol',
      [encodeFrame(MessageType.MuxPing, {}, { version: 9 })],
      'invalid-message',
    ],
    [
      'a non-mux frame type',
      [
        encodeFrame(MessageType.SignedEnvelope, {
          payloadType: 1,
          body: new Uint8Array(1),
          signer: new Uint8Array(32),
          signature: new Uint8Array(64),
        }),
      ],
      'invalid-message',
    ],
    ['a truncated MuxOpen', [Uint8Array.of(3, 1, MessageType.MuxOpen, 0x08)], 'invalid-message'],
    [
      'data for a stream never opened',
      [encodeDataFrame(41, Uint8Array.of(1))],
      'protocol-violation',
    ],
    ['an open with the acceptor parity', [open(2)], 'protocol-violation'],
    ['a reused stream id', [open(3), open(3)], 'protocol-violation'],
    ['ids going backwards', [open(5), open(3)], 'protocol-violation'],
    [
      'data past the credit',
      [open(1), ...Array.from({ length: 5 }, () => encodeDataFrame(1, new Uint8Array(60_000)))],
      'protocol-violation',
    ],
    [
      'data after the half-close',
      [
        open(1),
        encodeFrame(MessageType.MuxFin, { streamId: 1 }),
        encodeDataFrame(1, Uint8Array.of(1)),
      ],
      'protocol-violation',
    ],
    [
      'a second half-close',
      [
        open(1),
        encodeFrame(MessageType.MuxFin, { streamId: 1 }),
        encodeFrame(MessageType.MuxFin, { streamId: 1 }),
      ],
      'protocol-violation',
    ],
    [
      'credit overflow',
      [
        open(1),
        encodeFrame(MessageType.MuxWindowUpdate, { streamId: 1, creditBytes: 0xffff_ffff }),
      ],
      'protocol-violation',
    ],
  ])(
    '%s closes the connection with ProtocolViolationError and a penalty',
    async (_name, messages, reason) => {
      const { err, reasons } = await injected(...messages);
      expect(err).toBeInstanceOf(ProtocolViolationError);
      expect((err as ProtocolViolationError).code).toBe('PROTOCOL_VIOLATION');
      expect(reasons).toEqual([reason]);
      expect(pair!.listener.status).toBe('closed');
      expect(pair!.listenerPipe.ended || pair!.listenerPipe.destroyedFlag).toBe(true);
    },
  );

  it('drops frames for a stream that just ended, without a penalty', async () => {
    pair = muxPair({
      rawDialer: true,
      listenerRegistry: registry({ '/hold/1': (s) => s.reset() }),
    });
    pair.dialerPipe.inject(open(1));
    await tick(5);
    pair.dialerPipe.inject(encodeDataFrame(1, Uint8Array.of(1, 2, 3)));
    pair.dialerPipe.inject(encodeFrame(MessageType.MuxFin, { streamId: 1 }));
    await tick(5);
    expect(pair.listener.status).toBe('open');
    expect(pair.listenerReporter.penalties).toEqual([]);
  });

  it('aborts a remote that makes us queue control frames without reading', async () => {
    pair = muxPair({ rawDialer: true, listener: { maxControlBufferBytes: 65_536 } });
    const closed = closeOf(pair.listener);
    pair.listenerPipe.write = () => false; // the socket never drains
    const pings = Array.from({ length: 500 }, () =>
      encodeFrame(MessageType.MuxPing, { nonce: new Uint8Array(32) }),
    );
    for (let i = 0; i < 20; i++) pair.dialerPipe.inject(Buffer.concat(pings));
    expect(await closed).toBeInstanceOf(ProtocolViolationError);
    expect(pair.listenerReporter.penalties.map((p) => p.reason)).toEqual(['rate-limit']);
  });

  it('never throws or hangs on arbitrary input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.constantFrom(open(1), open(3), encodeDataFrame(1, Uint8Array.of(7))),
          ),
          { maxLength: 8 },
        ),
        async (messages) => {
          const p = muxPair({
            rawDialer: true,
            listenerRegistry: registry({ '/hold/1': () => {} }),
          });
          try {
            for (const m of messages) p.dialerPipe.inject(m);
            await tick(1);
            if (p.listener.status === 'closed') {
              const err = await closeOf(p.listener);
              expect(err).toBeInstanceOf(ProtocolViolationError);
            }
          } finally {
            p.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
