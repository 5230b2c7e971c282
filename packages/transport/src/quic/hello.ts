// The network check of a QUIC connection. TLS (libp2p's certificate extension) has authenticated
// the remote's Ed25519 key; on the first stream each side then sends a HandshakePayload frame:
//
//   identity_key  the same key TLS authenticated
//   identity_sig  Ed25519 signature of "detr-quic-hello-v1:" ‖ network id: binds the network
//   token         the admin-signed access token, checked against the authenticated PeerId
//   versions, features
//
// The dialer sends first; the listener answers only after the dialer's hello passed, so a peer
// without a valid token never sees a stream accepted.
import { HandshakeError, TokenError, peerIdFromPublicKey, verifySignature } from '@detr/aecomms';
import type { PeerId, RemoteInfo } from '@detr/interface';
import type { HandshakePayload } from '@detr/protocol';
import { MessageType, SUPPORTED_VERSIONS, encodeFrame, negotiateVersion } from '@detr/protocol';
import type { ResolvedComponents, ResolvedInit } from '../components.js';

const CONTEXT = new TextEncoder().encode('detr-quic-hello-v1:');

/** The bytes an identity signs in its QUIC hello. */
export function helloSigningBytes(networkId: Uint8Array): Uint8Array {
  const out = new Uint8Array(CONTEXT.length + networkId.length);
  out.set(CONTEXT, 0);
  out.set(networkId, CONTEXT.length);
  return out;
}

/** Our hello, as a frame. */
export function encodeHello(c: ResolvedComponents, o: ResolvedInit): Uint8Array {
  return encodeFrame(MessageType.HandshakePayload, {
    identityKey: c.identity.publicKey,
    identitySig: c.identity.sign(helloSigningBytes(c.network.networkId)),
    ...(c.token !== undefined ? { token: c.token } : {}),
    versions: SUPPORTED_VERSIONS.slice(),
    features: o.features.slice(),
  });
}

/**
 * Checks the remote's hello against the key TLS authenticated.
 *
 * @throws {HandshakeError} with the failed check as `reason`
 */
export function verifyHello(
  hello: HandshakePayload,
  peer: PeerId,
  c: ResolvedComponents,
): RemoteInfo {
  const key = hello.identityKey;
  if (key.length !== 32 || !peerIdFromPublicKey(key).equals(peer)) {
    throw new HandshakeError('unexpected-peer');
  }
  if (
    !verifySignature(key, helloSigningBytes(c.network.networkId), hello.identitySig, c.provider)
  ) {
    throw new HandshakeError('identity-signature');
  }
  if (c.tokenVerifier !== null) {
    try {
      c.tokenVerifier.verify(hello.token, peer);
    } catch (err) {
      const reason = err instanceof TokenError ? err.reason : 'token-verifier';
      throw new HandshakeError(reason, { cause: err });
    }
  }
  let protocolVersion: number;
  try {
    protocolVersion = negotiateVersion(SUPPORTED_VERSIONS, hello.versions);
  } catch (err) {
    throw new HandshakeError('version', { cause: err });
  }
  return {
    peer,
    protocolVersion,
    features: Object.freeze(hello.features.slice()),
    networkId: Buffer.from(c.network.networkId).toString('hex'),
  };
}
