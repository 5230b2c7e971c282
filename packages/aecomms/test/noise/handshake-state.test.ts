import { describe, expect, it } from '@jest/globals';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { HandshakeError, NonceExhaustedError } from '../../src/errors.js';
import { CipherState } from '../../src/noise/cipher-state.js';
import { NoiseHandshake } from '../../src/noise/handshake-state.js';
import { PROVIDERS, toHex, utf8 } from '../helpers.js';

const EMPTY = new Uint8Array(0);

describe.each(PROVIDERS)('Noise core, %s provider', (_name, provider) => {
  const pair = (prologueA = utf8('p'), prologueB = prologueA) => {
    const i = new NoiseHandshake({
      initiator: true,
      prologue: prologueA,
      staticKey: provider.generateX25519(),
      provider,
    });
    const r = new NoiseHandshake({
      initiator: false,
      prologue: prologueB,
      staticKey: provider.generateX25519(),
      provider,
    });
    return { i, r };
  };

  it('completes with fresh ephemeral keys and agrees on keys and hash', () => {
    const { i, r } = pair();
    r.readMessage(i.writeMessage(EMPTY));
    i.readMessage(r.writeMessage(utf8('two')));
    expect(toHex(r.readMessage(i.writeMessage(utf8('three'))))).toBe(toHex(utf8('three')));
    const a = i.split();
    const b = r.split();
    expect(toHex(a.handshakeHash)).toBe(toHex(b.handshakeHash));
    expect(toHex(b.receive.decryptWithAd(EMPTY, a.send.encryptWithAd(EMPTY, utf8('x'))))).toBe(
      '78',
    );
  });

  it('fails on a prologue mismatch: the initiator detects it reading message 2', () => {
    const { i, r } = pair(utf8('network-a'), utf8('network-b'));
    r.readMessage(i.writeMessage(EMPTY));
    const m2 = r.writeMessage(EMPTY);
    expect(() => i.readMessage(m2)).toThrow(HandshakeError);
  });

  it('rejects a tampered message 2 and a truncated message 2', () => {
    for (const damage of [
      (m: Uint8Array) => {
        const c = Uint8Array.from(m);
        c[40]! ^= 1;
        return c;
      },
      (m: Uint8Array) => m.subarray(0, m.length - 1),
      (m: Uint8Array) => m.subarray(0, 40),
    ]) {
      const { i, r } = pair();
      r.readMessage(i.writeMessage(EMPTY));
      const m2 = damage(r.writeMessage(EMPTY));
      const err = (() => {
        try {
          i.readMessage(m2);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(HandshakeError);
      expect(['noise', 'malformed']).toContain((err as HandshakeError).reason);
    }
  });

  it('rejects a low-order ephemeral key in message 1', () => {
    const { i, r } = pair();
    i.writeMessage(EMPTY);
    // Message 1 is e (32 bytes) ‖ payload; an all-zero e makes ee all-zero on the responder.
    const m1 = new Uint8Array(32);
    r.readMessage(m1);
    expect(() => r.writeMessage(EMPTY)).toThrow(HandshakeError);
  });

  it('refuses to act out of turn', () => {
    const { i } = pair();
    expect(() => i.readMessage(new Uint8Array(32))).toThrow(Error);
    i.writeMessage(EMPTY);
    expect(() => i.writeMessage(EMPTY)).toThrow(Error);
    expect(() => i.split()).toThrow(Error);
  });

  it('REKEY computes ENCRYPT(k, 2^64-1, empty, zeros)[0..32] (checked with noble directly)', () => {
    const key = provider.randomBytes(32);
    const cs = new CipherState(provider);
    cs.initializeKey(key);
    cs.rekey();
    const nonce = new Uint8Array(12).fill(0xff, 4);
    const expectedKey = chacha20poly1305(key, nonce).encrypt(new Uint8Array(32)).subarray(0, 32);
    const ct = cs.encryptWithAd(EMPTY, utf8('after rekey'));
    const expected = chacha20poly1305(expectedKey, new Uint8Array(12)).encrypt(utf8('after rekey'));
    expect(toHex(ct)).toBe(toHex(expected));
  });

  it('carries the nonce across 2^32 exactly, little-endian after 32 zero bits', () => {
    const key = provider.randomBytes(32);
    const cs = new CipherState(provider);
    cs.initializeKey(key);
    cs.setNonce(0, 0xffff_ffff);
    cs.encryptWithAd(EMPTY, EMPTY);
    expect(cs.nonceValue()).toBe(2n ** 32n);
    const ct = cs.encryptWithAd(EMPTY, utf8('n=2^32'));
    const nonce = new Uint8Array(12);
    nonce[8] = 1; // counter 2^32, little-endian in bytes 4..12
    expect(toHex(ct)).toBe(toHex(chacha20poly1305(key, nonce).encrypt(utf8('n=2^32'))));
  });

  it('uses nonce 2^64-2 and then refuses to go on (2^64-1 is reserved)', () => {
    const cs = new CipherState(provider);
    cs.initializeKey(provider.randomBytes(32));
    cs.setNonce(0xffff_ffff, 0xffff_fffe);
    cs.encryptWithAd(EMPTY, utf8('last'));
    expect(() => cs.encryptWithAd(EMPTY, utf8('one more'))).toThrow(NonceExhaustedError);
    const rx = new CipherState(provider);
    rx.initializeKey(provider.randomBytes(32));
    rx.setNonce(0xffff_ffff, 0xffff_ffff);
    expect(() => rx.decryptWithAd(EMPTY, new Uint8Array(16))).toThrow(NonceExhaustedError);
  });
});
