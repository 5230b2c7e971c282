// Hostile bytes into every decoder: only the typed errors come out, never another exception.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { TimeoutError } from '@detr/interface';
import {
  CipherState,
  DecryptError,
  HandshakeError,
  InvalidPeerIdError,
  MalformedFrameError,
  NoiseHandshake,
  TruncatedStreamError,
  createSecureSession,
  nodeCryptoProvider,
  peerIdFromBytes,
  peerIdFromString,
  performHandshake,
} from '../src/index.js';
import { closed, createDuplexPair } from './support/duplex-pair.js';
import { createTestNetwork, settle, sideOptions } from './support/network.js';

const provider = nodeCryptoProvider;

describe('fuzz (property tests)', () => {
  it('the session opener throws only its typed errors on random byte streams', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const cs = (): CipherState => {
          const c = new CipherState(provider);
          c.initializeKey(provider.randomBytes(32));
          return c;
        };
        const s = createSecureSession({
          send: cs(),
          receive: cs(),
          handshakeHash: new Uint8Array(32),
        });
        try {
          for (const c of chunks) s.open(c, () => {});
          s.end();
        } catch (err) {
          expect(
            err instanceof DecryptError ||
              err instanceof MalformedFrameError ||
              err instanceof TruncatedStreamError,
          ).toBe(true);
          expect(s.closed).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('Noise readMessage throws only HandshakeError on random messages 1 and 2', () => {
    const staticKey = provider.generateX25519();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (message, asInitiator) => {
        const hs = new NoiseHandshake({
          initiator: asInitiator,
          prologue: new Uint8Array(0),
          staticKey,
          provider,
        });
        if (asInitiator) hs.writeMessage(new Uint8Array(0));
        try {
          hs.readMessage(message);
        } catch (err) {
          expect(err).toBeInstanceOf(HandshakeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('PeerId parsers throw only InvalidPeerIdError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), (text, bytes) => {
        for (const f of [() => peerIdFromString(text), () => peerIdFromBytes(bytes)]) {
          try {
            f();
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidPeerIdError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a responder fed random bytes ends in HandshakeError or TimeoutError, and closes', async () => {
    const net = createTestNetwork();
    const bob = net.member();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (garbage) => {
        const [raw, victim] = createDuplexPair();
        raw.on('data', () => {});
        raw.on('error', () => {});
        const outcome = settle(
          performHandshake(victim, sideOptions(net, bob, 'responder', { timeoutMs: 1000 })),
        );
        raw.write(garbage);
        await new Promise((r) => setTimeout(r, 5));
        await net.clock.advanceAsync(1000);
        const o = await outcome;
        expect(o.ok).toBe(false);
        if (!o.ok)
          expect(o.error instanceof HandshakeError || o.error instanceof TimeoutError).toBe(true);
        await Promise.all([closed(victim), closed(raw)]);
      }),
      { numRuns: 60 },
    );
  });
});
