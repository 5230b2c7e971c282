/**
 * A peer's identity: its Ed25519 public key. Created and parsed by `@detr/aecomms`
 * (`peerIdFromPublicKey`, `peerIdFromString`, `peerIdFromBytes`); other packages only hold it.
 */
export interface PeerId {
  /** The key type. detr identities are Ed25519. */
  readonly type: 'Ed25519';
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The versioned binary form, as carried on the wire. */
  readonly bytes: Uint8Array;
  /** The printable, self-checking text form; round-trips exactly through `peerIdFromString`. */
  toString(): string;
  /** True when `other` is the same identity. */
  equals(other: PeerId): boolean;
}
