// What the handshake reuses between handshakes: our encoded payload and the network id's bits,
// each made again as soon as what it was made from changes.
import { describe, expect, it } from '@jest/globals';
import { HandshakePayload } from '@detr/protocol';
import { createIdentity, createNoiseStaticKey, nodeCryptoProvider } from '../../src/index.js';
import { handshakePrologue, networkBits, ownPayload } from '../../src/handshake/reuse.js';
import { createTestNetwork } from '../support/network.js';

describe('handshake reuse', () => {
  it('reuses our payload while key, token, versions and features stay the same', () => {
    const net = createTestNetwork();
    const { identity, token } = net.member();
    const key = createNoiseStaticKey(identity, nodeCryptoProvider);
    const a = ownPayload(identity.publicKey, key, token, [1], ['x']);
    expect(ownPayload(identity.publicKey, key, token, [1], ['x'])).toBe(a);
    const other = net.member().token;
    const b = ownPayload(identity.publicKey, key, other, [1], ['x']);
    expect(b).not.toBe(a);
    expect(ownPayload(identity.publicKey, key, other, [1], ['y'])).not.toBe(b);
    const decoded = HandshakePayload.decode(ownPayload(identity.publicKey, key, other, [1, 2]));
    expect(decoded.versions).toEqual([1, 2]);
    expect(decoded.features).toEqual([]);
    // Another static key (of another identity) never gets this one's payload.
    const id2 = createIdentity();
    const key2 = createNoiseStaticKey(id2, nodeCryptoProvider);
    const c = HandshakePayload.decode(ownPayload(id2.publicKey, key2, other, [1, 2]));
    expect(Buffer.from(c.identityKey).equals(Buffer.from(id2.publicKey))).toBe(true);
  });

  it('makes a network id prologue and text once, and again when its bytes change', () => {
    const id = new Uint8Array(32).fill(7);
    const first = networkBits(id);
    expect(networkBits(id)).toBe(first);
    expect(first.prologue).toEqual(handshakePrologue(id));
    expect(first.idText).toBe('07'.repeat(32));
    id[0] = 8;
    const second = networkBits(id);
    expect(second).not.toBe(first);
    expect(second.prologue).toEqual(handshakePrologue(id));
    expect(second.idText.startsWith('08')).toBe(true);
  });
});
