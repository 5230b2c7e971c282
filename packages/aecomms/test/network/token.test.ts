import { describe, expect, it } from '@jest/globals';
import { createManualClock } from '@detr/interface';
import { AccessToken, MessageType, SignedEnvelope } from '@detr/protocol';
import {
  NetworkMetadataError,
  TokenError,
  createIdentity,
  createNetwork,
  createRevocationList,
  createTokenVerifier,
  issueToken,
  nobleCryptoProvider,
  signEnvelope,
  verifyNetworkMetadata,
} from '../../src/index.js';

const DAY = 86_400_000;

function setup() {
  const clock = createManualClock();
  const admin = createIdentity();
  const network = createNetwork(admin, { name: 'net' }, { clock });
  const verifier = createTokenVerifier({ clock }, { network, clockSkewMs: 1000 });
  const member = createIdentity();
  const token = issueToken(
    admin,
    { networkId: network.networkId, peer: member.peerId, expiresAtMs: clock.now() + DAY },
    { clock },
  );
  return { clock, admin, network, verifier, member, token };
}

function reason(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof TokenError || err instanceof NetworkMetadataError) return err.reason;
    throw err;
  }
}

describe('access tokens', () => {
  it('verifies a token and returns what it grants', () => {
    const { verifier, member, token, network, admin } = setup();
    const info = verifier.verify(token, member.peerId);
    expect(info.peer.equals(member.peerId)).toBe(true);
    expect(Buffer.from(info.networkId)).toEqual(Buffer.from(network.networkId));
    expect(info.tokenId).toHaveLength(16);
    expect(info.tokenIdHex).toBe(Buffer.from(info.tokenId).toString('hex'));
    expect(Buffer.from(info.issuer)).toEqual(Buffer.from(admin.publicKey));
  });

  it('honours the validity window with the skew allowance, on the injected clock', () => {
    const { clock, verifier, member, admin, network } = setup();
    const t = issueToken(admin, {
      networkId: network.networkId,
      peer: member.peerId,
      notBeforeMs: clock.now() + 5000,
      expiresAtMs: clock.now() + 10_000,
    });
    expect(reason(() => verifier.verify(t, member.peerId))).toBe('token-not-yet-valid');
    clock.advance(4000); // within 1 s of notBefore
    expect(reason(() => verifier.verify(t, member.peerId))).toBe('ok');
    clock.advance(6999); // expiry + 999 ms
    expect(reason(() => verifier.verify(t, member.peerId))).toBe('ok');
    clock.advance(1); // expiry + skew
    expect(reason(() => verifier.verify(t, member.peerId))).toBe('token-expired');
  });

  it('rejects: missing, non-admin signer, wrong payload type, undecodable body, other peer', () => {
    const { verifier, member, token, network } = setup();
    expect(reason(() => verifier.verify(undefined, member.peerId))).toBe('token-missing');
    const rogue = createIdentity();
    const forged = issueToken(rogue, {
      networkId: network.networkId,
      peer: member.peerId,
      expiresAtMs: Date.now() + DAY,
    });
    expect(reason(() => verifier.verify(forged, member.peerId))).toBe('token-signature');
    expect(
      reason(() => verifier.verify({ ...token, payloadType: MessageType.Presence }, member.peerId)),
    ).toBe('token-malformed');
    const admin = createIdentity();
    const net2 = createNetwork(admin, { name: 'x' });
    const v2 = createTokenVerifier({}, { network: net2 });
    const garbage = signEnvelope(admin, MessageType.AccessToken, new Uint8Array([0xff, 0xff]));
    expect(reason(() => v2.verify(garbage, member.peerId))).toBe('token-malformed');
    expect(reason(() => verifier.verify(token, createIdentity().peerId))).toBe('token-peer');
  });

  it('accepts a token from any of several admin keys', () => {
    const clock = createManualClock();
    const a1 = createIdentity();
    const a2 = createIdentity();
    const network = createNetwork(
      a1,
      { name: 'two admins', additionalAdminKeys: [a2.publicKey] },
      { clock },
    );
    const verifier = createTokenVerifier({ clock }, { network });
    const m = createIdentity();
    const t = issueToken(
      a2,
      { networkId: network.networkId, peer: m.peerId, expiresAtMs: clock.now() + DAY },
      { clock },
    );
    expect(verifier.verify(t, m.peerId).peer.equals(m.peerId)).toBe(true);
  });

  it('installs only newer, valid revocation lists of its own network', () => {
    const { verifier, member, token, admin, network } = setup();
    const id = AccessToken.decode(token.body).tokenId;
    const list = (seq: number, ids: Uint8Array[], signer = admin, networkId = network.networkId) =>
      createRevocationList(signer, { networkId, seq, revokedTokenIds: ids });
    expect(verifier.updateRevocationList(list(2, [id]))).toBe(true);
    expect(verifier.revocationSeq).toBe(2);
    expect(reason(() => verifier.verify(token, member.peerId))).toBe('token-revoked');
    expect(verifier.updateRevocationList(list(1, []))).toBe(false); // older: ignored
    expect(reason(() => verifier.verify(token, member.peerId))).toBe('token-revoked');
    expect(reason(() => verifier.updateRevocationList(list(3, [], createIdentity())))).toBe(
      'token-signature',
    );
    expect(
      reason(() => verifier.updateRevocationList(list(3, [], admin, new Uint8Array(32)))),
    ).toBe('token-network');
    expect(reason(() => verifier.updateRevocationList(new Uint8Array([1, 2, 3])))).toBe(
      'token-malformed',
    );
    // An encoded list (bytes) works too, and lifting the revocation restores the token.
    expect(verifier.updateRevocationList(SignedEnvelope.encode(list(3, [])))).toBe(true);
    expect(reason(() => verifier.verify(token, member.peerId))).toBe('ok');
  });

  it('verifies on the noble provider too', () => {
    const { network, member, token, clock } = setup();
    const v = createTokenVerifier({ clock, provider: nobleCryptoProvider }, { network });
    expect(v.verify(token, member.peerId).peer.equals(member.peerId)).toBe(true);
  });

  it('refuses bad verifier options and bad token fields', () => {
    const { network, admin, member } = setup();
    expect(() =>
      createTokenVerifier(
        {},
        { network: { networkId: new Uint8Array(3), adminKeys: [admin.publicKey] } },
      ),
    ).toThrow(RangeError);
    expect(() =>
      createTokenVerifier({}, { network: { networkId: network.networkId, adminKeys: [] } }),
    ).toThrow(RangeError);
    expect(() => createTokenVerifier({}, { network, clockSkewMs: -1 })).toThrow(RangeError);
    expect(() =>
      issueToken(admin, {
        networkId: network.networkId,
        peer: member.peerId,
        notBeforeMs: 10,
        expiresAtMs: 10,
      }),
    ).toThrow(RangeError);
  });
});

describe('network metadata', () => {
  it('round-trips through bytes and verifies', () => {
    const { network, admin } = setup();
    const again = verifyNetworkMetadata(SignedEnvelope.encode(network.envelope));
    expect(again.name).toBe('net');
    expect(again.networkIdHex).toBe(network.networkIdHex);
    expect(again.adminKeys.map((k) => Buffer.from(k).toString('hex'))).toEqual([
      Buffer.from(admin.publicKey).toString('hex'),
    ]);
  });

  it('rejects malformed, untrusted, badly signed and foreign metadata', () => {
    const { network } = setup();
    expect(reason(() => verifyNetworkMetadata(new Uint8Array([9, 9])))).toBe('malformed');
    const other = createIdentity();
    // Signed by a key that is not among its admin keys.
    const resigned = signEnvelope(other, MessageType.NetworkMetadata, network.envelope.body);
    expect(reason(() => verifyNetworkMetadata(resigned))).toBe('untrusted');
    // An update is accepted only from a key already trusted.
    expect(
      reason(() =>
        verifyNetworkMetadata(network.envelope, { trustedAdminKeys: [other.publicKey] }),
      ),
    ).toBe('untrusted');
    const sig = Uint8Array.from(network.envelope.signature);
    sig[3]! ^= 1;
    expect(reason(() => verifyNetworkMetadata({ ...network.envelope, signature: sig }))).toBe(
      'signature',
    );
    expect(
      reason(() => verifyNetworkMetadata(network.envelope, { networkId: new Uint8Array(32) })),
    ).toBe('network');
  });
});
