// The caches of verified signatures: a peer seen again skips the Ed25519 verifications of its
// identity signature and token, but never any other check.
import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '@detr/interface';
import { VerifiedSignatures } from '../../src/crypto/verify-cache.js';
import {
  TokenError,
  createIdentity,
  createNetwork,
  createRevocationList,
  createTokenVerifier,
  defaultCryptoProvider,
  issueToken,
  type CryptoProvider,
} from '../../src/index.js';
import { createTestNetwork, runHandshake, sideOptions } from '../support/network.js';

/** The default provider with its Ed25519 verifications counted. */
function counting(): { provider: CryptoProvider; verifies: () => number } {
  let n = 0;
  const base = defaultCryptoProvider;
  const provider: CryptoProvider = {
    ...base,
    ed25519Verify(k, m, s) {
      n++;
      return base.ed25519Verify(k, m, s);
    },
    ed25519PublicKey(k) {
      const key = base.ed25519PublicKey(k);
      return {
        bytes: key.bytes,
        verify(m, s) {
          n++;
          return key.verify(m, s);
        },
      };
    },
  };
  return { provider, verifies: () => n };
}

describe('verified-signature caches', () => {
  it('a second handshake between the same peers verifies no signature; off, it verifies four', async () => {
    const { provider, verifies } = counting();
    const net = createTestNetwork(provider);
    const alice = net.member();
    const bob = net.member();
    const once = async (cache: boolean): Promise<number> => {
      const before = verifies();
      const extra = { provider, cacheVerifiedSignatures: cache };
      const { i, r } = await runHandshake(
        sideOptions(net, alice, 'initiator', { ...extra, expectedPeer: bob.identity.peerId }),
        sideOptions(net, bob, 'responder', extra),
      );
      expect(i.ok && r.ok).toBe(true);
      return verifies() - before;
    };
    expect(await once(true)).toBe(4);
    expect(await once(true)).toBe(0);
    // The token cache is the verifier's: off for identity signatures only, tokens still hit.
    expect(await once(false)).toBe(2);
  });

  it('remembers only valid signatures, and only for the same key, message and signature', () => {
    const cache = new VerifiedSignatures(2);
    const k = new Uint8Array(32).fill(1);
    const m = new Uint8Array([1, 2, 3]);
    const s = new Uint8Array(64).fill(5);
    let calls = 0;
    const yes = (): boolean => (++calls, true);
    const no = (): boolean => (++calls, false);
    expect(cache.check(k, m, s, no)).toBe(false);
    expect(cache.size).toBe(0);
    expect(cache.check(k, m, s, yes)).toBe(true);
    expect(cache.check(k, m, s, no)).toBe(true); // remembered
    expect(calls).toBe(2);
    expect(cache.check(k, new Uint8Array([1, 2, 4]), s, no)).toBe(false);
    expect(cache.check(new Uint8Array(32).fill(2), m, s, no)).toBe(false);
    // Bounded: the least recently used entry goes.
    cache.check(k, m, new Uint8Array(64).fill(6), yes);
    cache.check(k, m, new Uint8Array(64).fill(7), yes);
    expect(cache.size).toBe(2);
    expect(cache.check(k, m, s, no)).toBe(false);
  });

  it('a cached token still fails expiry and revocation', () => {
    const { provider, verifies } = counting();
    const clock = createManualClock();
    const admin = createIdentity();
    const network = createNetwork(admin, { name: 'n' }, { clock });
    const verifier = createTokenVerifier({ clock, provider }, { network, clockSkewMs: 0 });
    const member = createIdentity();
    const token = issueToken(
      admin,
      { networkId: network.networkId, peer: member.peerId, expiresAtMs: clock.now() + 1000 },
      { clock },
    );
    const info = verifier.verify(token, member.peerId);
    verifier.verify(token, member.peerId);
    expect(verifies()).toBe(1);
    // Another peer presenting it: refused although the signature is cached.
    expect(() => verifier.verify(token, createIdentity().peerId)).toThrow(TokenError);
    // Tampered signature: a miss, verified, refused.
    const forged = { ...token, signature: Uint8Array.from(token.signature) };
    forged.signature[0] = (forged.signature[0] as number) ^ 1;
    expect(() => verifier.verify(forged, member.peerId)).toThrow(TokenError);
    verifier.updateRevocationList(
      createRevocationList(
        admin,
        { networkId: network.networkId, seq: 1, revokedTokenIds: [info.tokenId] },
        { clock },
      ),
    );
    expect(() => verifier.verify(token, member.peerId)).toThrow(
      expect.objectContaining({ reason: 'token-revoked' }),
    );
    const fresh = createTokenVerifier({ clock, provider }, { network, clockSkewMs: 0 });
    fresh.verify(token, member.peerId);
    clock.advance(1000);
    expect(() => fresh.verify(token, member.peerId)).toThrow(
      expect.objectContaining({ reason: 'token-expired' }),
    );
    expect(() => createTokenVerifier({}, { network, verifiedTokenCacheEntries: -1 })).toThrow(
      RangeError,
    );
  });
});
