// Identities, PeerIds and signed envelopes come from @detr/aecomms; re-exported here so the rest
// of the node imports one module.
export {
  createIdentity,
  verifySignature,
  envelopeSigningBytes,
  peerIdFromBytes,
  peerIdFromString,
  peerIdFromPublicKey,
  type Identity,
} from '@detr/aecomms';
