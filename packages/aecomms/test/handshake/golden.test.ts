// The wire bytes of a complete handshake and the first transport frames, with every key and
// every random value fixed, pinned as hex: a change of the format must edit this on purpose.
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '@detr/interface';
import {
  createIdentity,
  createNetwork,
  createNoiseStaticKey,
  createTokenVerifier,
  issueToken,
  nobleCryptoProvider,
  nodeCryptoProvider,
  performHandshake,
  type CryptoProvider,
} from '../../src/index.js';
import { createRelay } from '../support/relay.js';

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b);

async function transcript(provider: CryptoProvider): Promise<{ c2s: string[]; s2c: string[] }> {
  const clock = createManualClock(1_700_000_000_000);
  const admin = createIdentity(seed(1), { provider });
  const alice = createIdentity(seed(2), { provider });
  const bob = createIdentity(seed(3), { provider });
  const network = createNetwork(admin, { name: 'golden', networkId: seed(4) }, { clock, provider });
  const verifier = createTokenVerifier({ clock, provider }, { network });
  const token = (id: typeof alice, tokenId: number) =>
    issueToken(
      admin,
      {
        networkId: network.networkId,
        peer: id.peerId,
        expiresAtMs: clock.now() + 3_600_000,
        tokenId: new Uint8Array([tokenId]),
      },
      { clock, provider },
    );
  const c2s: string[] = [];
  const s2c: string[] = [];
  const { client, server } = createRelay(
    (f) => (c2s.push(f.toString('hex')), [f]),
    (f) => (s2c.push(f.toString('hex')), [f]),
  );
  const common = { network, tokenVerifier: verifier, clock, provider };
  const [ri, rr] = await Promise.all([
    performHandshake(client, {
      ...common,
      role: 'initiator',
      identity: alice,
      token: token(alice, 1),
      staticKey: createNoiseStaticKey(alice, provider, seed(5)),
      ephemeralKey: provider.x25519FromPrivateKey(seed(6)),
      expectedPeer: bob.peerId,
    }),
    performHandshake(server, {
      ...common,
      role: 'responder',
      identity: bob,
      token: token(bob, 2),
      staticKey: createNoiseStaticKey(bob, provider, seed(7)),
      ephemeralKey: provider.x25519FromPrivateKey(seed(8)),
      features: ['relay'],
    }),
  ]);
  for (const f of ri.session.seal([Buffer.from('hello '), Buffer.from('bob')])) client.write(f);
  for (const f of rr.session.seal(Buffer.from('hi alice'))) server.write(f);
  // Until both transport frames went through the relay (bounded: a loaded machine may take more
  // than a few ms; the length checks below catch a missing frame).
  for (let i = 0; i < 200 && (c2s.length < 3 || s2c.length < 2); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 20));
  client.destroy();
  server.destroy();
  return { c2s, s2c };
}

const digest = (frames: string[]): string =>
  createHash('sha256').update(frames.join('|')).digest('hex');

describe('golden handshake transcript', () => {
  it('is pinned, and identical on both providers', async () => {
    const node = await transcript(nodeCryptoProvider);
    const noble = await transcript(nobleCryptoProvider);
    expect(noble).toEqual(node);
    expect(node.c2s).toHaveLength(3); // message 1, message 3, one transport frame
    expect(node.s2c).toHaveLength(2); // message 2, one transport frame
    expect(node.c2s[0]).toBe(GOLDEN_MSG1);
    expect(node.c2s[2]!.slice(0, 4)).toBe('0019'); // 9 bytes of plaintext + 16 of tag
    expect({ c2s: digest(node.c2s), s2c: digest(node.s2c) }).toEqual(GOLDEN_DIGESTS);
  });
});

// Message 1: length 32, then the X25519 public key of the private key 0x06 × 32 (cross-checked with
// Python's `cryptography`).
const GOLDEN_MSG1 = '0020f5b2d6e60f9477e310c2982daaa6c9136c108a1777c5947e448fa37d68174557';
// SHA-256 of each direction's frames (hex, joined with '|'): every byte of messages 2 and 3 (static
// keys, payloads with identity signatures and tokens) and of the two transport frames.
const GOLDEN_DIGESTS = {
  c2s: '5fb770c79a0282f6f3acdf7293dc6704e29e8d9a133f1b644f96f671eaa794c0',
  s2c: '6bbb5023ded307c1eefcf642ed7db8715634c103de6ba54aba26de59790075bc',
};
