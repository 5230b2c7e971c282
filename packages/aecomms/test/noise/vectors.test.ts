// The published Noise_XX_25519_ChaChaPoly_SHA256 vectors (cacophony, snow), byte for byte, on each
// provider and with the initiator and responder on different providers.
import { describe, expect, it } from '@jest/globals';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { nobleCryptoProvider } from '../../src/crypto/noble.js';
import { nodeCryptoProvider } from '../../src/crypto/node.js';
import { NOISE_PROTOCOL_NAME, NoiseHandshake } from '../../src/noise/handshake-state.js';
import { NOISE_XX_VECTORS } from '../fixtures/noise-vectors.js';
import { hex, sodiumProvider, toHex } from '../helpers.js';

const PAIRS: Array<[string, CryptoProvider, CryptoProvider]> = [
  ['node ↔ node', nodeCryptoProvider, nodeCryptoProvider],
  ['noble ↔ noble', nobleCryptoProvider, nobleCryptoProvider],
  ['node → noble', nodeCryptoProvider, nobleCryptoProvider],
  ['noble → node', nobleCryptoProvider, nodeCryptoProvider],
  ['sodium ↔ sodium', sodiumProvider, sodiumProvider],
  ['sodium → node', sodiumProvider, nodeCryptoProvider],
  ['noble → sodium', nobleCryptoProvider, sodiumProvider],
];

const EMPTY = new Uint8Array(0);

describe.each(PAIRS)('Noise XX vectors, %s', (_name, initP, respP) => {
  it.each(NOISE_XX_VECTORS.map((v) => [v.source, v] as const))('%s', (_source, v) => {
    expect(v.protocol_name).toBe(NOISE_PROTOCOL_NAME);
    const initiator = new NoiseHandshake({
      initiator: true,
      prologue: hex(v.init_prologue),
      staticKey: initP.x25519FromPrivateKey(hex(v.init_static)),
      ephemeralKey: initP.x25519FromPrivateKey(hex(v.init_ephemeral)),
      provider: initP,
    });
    const responder = new NoiseHandshake({
      initiator: false,
      prologue: hex(v.resp_prologue),
      staticKey: respP.x25519FromPrivateKey(hex(v.resp_static)),
      ephemeralKey: respP.x25519FromPrivateKey(hex(v.resp_ephemeral)),
      provider: respP,
    });
    expect(v.messages.length).toBeGreaterThan(3);
    for (let i = 0; i < 3; i++) {
      const m = v.messages[i]!;
      const [w, r] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
      const wire = w.writeMessage(hex(m.payload));
      expect(toHex(wire)).toBe(m.ciphertext);
      expect(toHex(r.readMessage(wire))).toBe(m.payload);
    }
    expect(initiator.complete && responder.complete).toBe(true);
    const a = initiator.split();
    const b = responder.split();
    expect(toHex(a.handshakeHash)).toBe(toHex(b.handshakeHash));
    if (v.handshake_hash !== undefined) expect(toHex(a.handshakeHash)).toBe(v.handshake_hash);
    expect(toHex(initiator.remoteStaticKey!)).toBe(
      toHex(respP.x25519FromPrivateKey(hex(v.resp_static)).publicKey),
    );
    for (let i = 3; i < v.messages.length; i++) {
      const m = v.messages[i]!;
      const [send, receive] = i % 2 === 0 ? [a.send, b.receive] : [b.send, a.receive];
      const wire = send.encryptWithAd(EMPTY, hex(m.payload));
      expect(toHex(wire)).toBe(m.ciphertext);
      expect(toHex(receive.decryptWithAd(EMPTY, wire))).toBe(m.payload);
    }
  });
});
