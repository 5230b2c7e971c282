// Signing and verification as components, so that the DHT depends only on a small contract. The
// node's `@detr/aecomms` Identity is a DhtSigner as it is; PeerIds are parsed with aecomms'
// `peerIdFromBytes` unless a codec is injected.
import {
  nodeCryptoProvider,
  peerIdFromBytes,
  type CryptoProvider,
  type Ed25519PublicKey,
} from '@detr/aecomms';
import type { PeerId } from '@detr/interface';

/** The node's own identity as the DHT needs it (an aecomms `Identity` is one). */
export interface DhtSigner {
  /** The identity records are published under (its public key is the envelope's signer). */
  readonly peerId: PeerId;
  /** Ed25519 signature of `data` with `peerId`'s private key. */
  sign(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Checks Ed25519 signatures. */
export interface SignatureVerifier {
  /** True when `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Parses PeerIds from their binary wire form (`PeerInfo.peer`, presence keys). */
export interface PeerIdCodec {
  /**
   * The PeerId whose binary form is `bytes`.
   *
   * @throws {Error} (any) when `bytes` is not a valid PeerId
   */
  fromBytes(bytes: Uint8Array): PeerId;
}

/**
 * The default codec: `@detr/aecomms`' `peerIdFromBytes`.
 *
 * @example
 * ```ts
 * const peer = aecommsPeerIds.fromBytes(info.peer)
 * ```
 */
export const aecommsPeerIds: PeerIdCodec = { fromBytes: peerIdFromBytes };

/** Options of {@link createEd25519Verifier}. */
export interface Ed25519VerifierInit {
  /** @default nodeCryptoProvider (aecomms) */
  provider?: CryptoProvider;
  /** Imported public keys kept for reuse (importing one costs about as much as a verify). @default 1024 */
  cacheSize?: number;
}

/**
 * A verifier over an aecomms crypto provider that keeps recently used public keys imported.
 *
 * @throws {RangeError} when `cacheSize` is negative
 * @example
 * ```ts
 * const verifier = createEd25519Verifier({ cacheSize: 4096 })
 * verifier.verify(publicKey, message, signature)
 * ```
 */
export function createEd25519Verifier(init: Ed25519VerifierInit = {}): SignatureVerifier {
  const provider = init.provider ?? nodeCryptoProvider;
  const cacheSize = init.cacheSize ?? 1024;
  if (!(cacheSize >= 0)) throw new RangeError('cacheSize must be ≥ 0');
  const keys = new Map<string, Ed25519PublicKey>();
  return {
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('latin1');
        let k = keys.get(id);
        if (k === undefined) {
          k = provider.ed25519PublicKey(publicKey);
          if (cacheSize > 0) {
            if (keys.size >= cacheSize) keys.delete(keys.keys().next().value as string);
            keys.set(id, k);
          }
        }
        return k.verify(message, signature);
      } catch {
        return false;
      }
    },
  };
}
