// Noise SymmetricState (spec revision 34, section 5.2) with SHA-256 and HKDF (section 4.3).
import type { CryptoProvider } from '../crypto/provider.js';
import { CipherState, concat } from './cipher-state.js';

const HASH_BYTES = 32;
const BYTE_1 = Uint8Array.of(1);
const BYTE_2 = Uint8Array.of(2);
const EMPTY = new Uint8Array(0);

/** A Noise SymmetricState: chaining key, handshake hash and a CipherState. */
export class SymmetricState {
  private ck: Uint8Array;
  private h: Uint8Array;
  readonly cipher: CipherState;

  /** InitializeSymmetric(protocolName). */
  constructor(
    private readonly provider: CryptoProvider,
    protocolName: string,
  ) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_BYTES) {
      this.h = new Uint8Array(HASH_BYTES);
      this.h.set(name);
    } else {
      this.h = provider.sha256([name]);
    }
    this.ck = this.h;
    this.cipher = new CipherState(provider);
    this.cipher.initializeKey(undefined);
  }

  /** HKDF(chaining_key, input_key_material, 2). */
  private hkdf2(ikm: Uint8Array): [Uint8Array, Uint8Array] {
    const temp = this.provider.hmacSha256(this.ck, [ikm]);
    const out1 = this.provider.hmacSha256(temp, [BYTE_1]);
    const out2 = this.provider.hmacSha256(temp, [out1, BYTE_2]);
    return [out1, out2];
  }

  /** MixKey(input_key_material). */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = this.hkdf2(ikm);
    this.ck = ck;
    this.cipher.initializeKey(tempK);
  }

  /** MixHash(data) over the concatenation of `parts`. */
  mixHash(...parts: Uint8Array[]): void {
    this.h = this.provider.sha256([this.h, ...parts]);
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = concat(this.cipher.encryptParts(this.h, [plaintext]));
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /**
   * DecryptAndHash(ciphertext).
   *
   * @throws {DecryptError} when authentication fails
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): the two transport CipherStates (initiator→responder first). */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.hkdf2(EMPTY);
    const c1 = new CipherState(this.provider);
    const c2 = new CipherState(this.provider);
    c1.initializeKey(k1);
    c2.initializeKey(k2);
    return [c1, c2];
  }

  /** GetHandshakeHash(). */
  handshakeHash(): Uint8Array {
    return Uint8Array.from(this.h);
  }
}
