import { describe, expect, it } from '@jest/globals';
import { MessageType, SignedEnvelope } from '@detr/protocol';
import {
  createIdentity,
  envelopeSigningBytes,
  nobleCryptoProvider,
  signEnvelope,
  verifyEnvelope,
} from '../src/index.js';
import { hex, utf8 } from './helpers.js';

const seed = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');

describe('signed envelopes', () => {
  it('signs a domain-separated prefix, the payload type and the body (golden)', () => {
    expect(Buffer.from(envelopeSigningBytes(4, hex('0102'))).toString('hex')).toBe(
      Buffer.from('detr-signed-envelope:').toString('hex') + '00000004' + '0102',
    );
    const env = signEnvelope(createIdentity(seed), 4, hex('0102'));
    // Ed25519 is deterministic: the same key, type and body give this exact envelope.
    expect(Buffer.from(SignedEnvelope.encode(env)).toString('hex')).toBe(
      '0804120201021a203d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c2240' +
        'c14ee233c5760450e6370370760cd6fcbdc6664b0e41e7d1687bc9a892f95dd940719db2ced58a84eb7af0cf' +
        '13da53d27a1d45aa380065fc5bff948e02dc930d',
    );
  });

  it('verifies on both providers, survives encoding, and rejects any change', () => {
    const identity = createIdentity(seed);
    const env = SignedEnvelope.decode(
      SignedEnvelope.encode(signEnvelope(identity, MessageType.Presence, utf8('body'))),
    );
    expect(verifyEnvelope(env)).toBe(true);
    expect(verifyEnvelope(env, { provider: nobleCryptoProvider })).toBe(true);
    expect(verifyEnvelope(env, { payloadType: MessageType.Presence })).toBe(true);
    expect(verifyEnvelope(env, { payloadType: MessageType.AccessToken })).toBe(false);
    expect(verifyEnvelope({ ...env, payloadType: MessageType.AccessToken })).toBe(false);
    expect(verifyEnvelope({ ...env, body: utf8('bodY') })).toBe(false);
    expect(verifyEnvelope({ ...env, signer: createIdentity().publicKey })).toBe(false);
    const sig = Uint8Array.from(env.signature);
    sig[0]! ^= 1;
    expect(verifyEnvelope({ ...env, signature: sig })).toBe(false);
    expect(verifyEnvelope({ ...env, payloadType: 0 })).toBe(false);
    expect(verifyEnvelope({ ...env, signature: new Uint8Array(3) })).toBe(false);
  });

  it('rejects an invalid payload type when signing', () => {
    expect(() => signEnvelope(createIdentity(seed), 0, utf8('x'))).toThrow(RangeError);
    expect(() => signEnvelope(createIdentity(seed), 2 ** 32, utf8('x'))).toThrow(RangeError);
  });
});
