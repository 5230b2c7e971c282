// Noise HandshakeState (spec revision 34, section 5.3) for the XX pattern:
//
//   XX:
//     -> e
//     <- e, ee, s, es
//     -> s, se
//
// with 25519 (X25519), ChaChaPoly and SHA256. Ephemeral keys can be injected so the published
// test vectors run byte for byte; otherwise each handshake generates a fresh one.
import type { CryptoProvider, X25519KeyPair } from '../crypto/provider.js';
import { DecryptError, HandshakeError } from '../errors.js';
import { MAX_NOISE_MESSAGE_BYTES, TAG_BYTES, type CipherState } from './cipher-state.js';
import { SymmetricState } from './symmetric-state.js';

/** The Noise protocol name this package implements. */
export const NOISE_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_SHA256';

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';
const XX: readonly (readonly Token[])[] = [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']];
const DH_BYTES = 32;

/** Options of {@link NoiseHandshake}. */
export interface NoiseHandshakeInit {
  /** True on the side that sends the first message. */
  initiator: boolean;
  /** Bytes both sides must agree on (bound into the handshake hash). */
  prologue: Uint8Array;
  /** The local static key pair. */
  staticKey: X25519KeyPair;
  /** A fixed ephemeral key pair (test vectors only); by default a fresh one per handshake. */
  ephemeralKey?: X25519KeyPair;
  provider: CryptoProvider;
}

/** The outcome of a completed handshake: one CipherState per direction and the handshake hash. */
export interface NoiseSplit {
  send: CipherState;
  receive: CipherState;
  /** h after the last message: a unique, secret-independent session identifier (channel binding). */
  handshakeHash: Uint8Array;
}

/**
 * A Noise_XX_25519_ChaChaPoly_SHA256 handshake state machine. Write and read messages in turn;
 * after the third message {@link NoiseHandshake.split} gives the transport cipher states.
 * Failures throw {@link HandshakeError} (`reason` `'noise'` for a failed decryption or a
 * low-order key, `'malformed'` for a message of impossible size).
 */
export class NoiseHandshake {
  private readonly ss: SymmetricState;
  private readonly provider: CryptoProvider;
  private readonly initiator: boolean;
  private readonly s: X25519KeyPair;
  private e: X25519KeyPair | undefined;
  private rs: Uint8Array | undefined;
  private re: Uint8Array | undefined;
  private index = 0;

  constructor(init: NoiseHandshakeInit) {
    this.provider = init.provider;
    this.initiator = init.initiator;
    this.s = init.staticKey;
    this.e = init.ephemeralKey;
    this.ss = new SymmetricState(init.provider, NOISE_PROTOCOL_NAME);
    this.ss.mixHash(init.prologue);
  }

  /** True when this side sends the next message. */
  get isMyTurn(): boolean {
    return this.index % 2 === (this.initiator ? 0 : 1);
  }

  /** True after all three messages. */
  get complete(): boolean {
    return this.index >= XX.length;
  }

  /** The remote static public key, once received. */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.rs;
  }

  /** The number of messages written or read so far (0–3). */
  get messageIndex(): number {
    return this.index;
  }

  private dh(local: X25519KeyPair | undefined, remote: Uint8Array | undefined): void {
    if (local === undefined || remote === undefined) throw new Error('Noise key missing');
    let shared: Uint8Array;
    try {
      shared = local.dh(remote);
    } catch (err) {
      throw new HandshakeError('noise', { cause: err });
    }
    this.ss.mixKey(shared);
  }

  private mixDh(token: Token): void {
    const i = this.initiator;
    switch (token) {
      case 'ee':
        return this.dh(this.e, this.re);
      case 'es':
        return i ? this.dh(this.e, this.rs) : this.dh(this.s, this.re);
      case 'se':
        return i ? this.dh(this.s, this.re) : this.dh(this.e, this.rs);
      case 'ss':
        return this.dh(this.s, this.rs);
      default:
        throw new Error(`not a DH token: ${token}`);
    }
  }

  /**
   * WriteMessage(payload): the next handshake message.
   *
   * @throws {Error} when it is not this side's turn or the handshake is complete
   * @throws {RangeError} when the message would exceed 65,535 bytes
   */
  writeMessage(payload: Uint8Array): Uint8Array {
    if (this.complete || !this.isMyTurn) throw new Error('not this side’s turn to write');
    const parts: Uint8Array[] = [];
    for (const token of XX[this.index] as readonly Token[]) {
      if (token === 'e') {
        this.e ??= this.provider.generateX25519();
        parts.push(this.e.publicKey);
        this.ss.mixHash(this.e.publicKey);
      } else if (token === 's') {
        parts.push(this.ss.encryptAndHash(this.s.publicKey));
      } else {
        this.mixDh(token);
      }
    }
    parts.push(this.ss.encryptAndHash(payload));
    this.index++;
    let n = 0;
    for (const p of parts) n += p.length;
    if (n > MAX_NOISE_MESSAGE_BYTES) throw new RangeError('Noise message longer than 65535 bytes');
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /**
   * ReadMessage(message): processes the remote's next handshake message and returns its payload.
   *
   * @throws {HandshakeError} reason `'malformed'` for a message too short for its tokens or longer
   * than 65,535 bytes, `'noise'` for a failed decryption or a low-order key
   * @throws {Error} when it is not the remote's turn
   */
  readMessage(message: Uint8Array): Uint8Array {
    if (this.complete || this.isMyTurn) throw new Error('not the remote’s turn to write');
    if (message.length > MAX_NOISE_MESSAGE_BYTES) throw new HandshakeError('malformed');
    let o = 0;
    const take = (n: number): Uint8Array => {
      if (o + n > message.length) throw new HandshakeError('malformed');
      const out = message.subarray(o, o + n);
      o += n;
      return out;
    };
    try {
      for (const token of XX[this.index] as readonly Token[]) {
        if (token === 'e') {
          this.re = Uint8Array.from(take(DH_BYTES));
          this.ss.mixHash(this.re);
        } else if (token === 's') {
          const n = this.ss.cipher.hasKey() ? DH_BYTES + TAG_BYTES : DH_BYTES;
          this.rs = Uint8Array.from(this.ss.decryptAndHash(take(n)));
        } else {
          this.mixDh(token);
        }
      }
      if (this.ss.cipher.hasKey() && message.length - o < TAG_BYTES) {
        throw new HandshakeError('malformed');
      }
      const payload = this.ss.decryptAndHash(message.subarray(o));
      this.index++;
      return payload;
    } catch (err) {
      if (err instanceof DecryptError) throw new HandshakeError('noise', { cause: err });
      throw err;
    }
  }

  /**
   * Split(): the transport cipher states, oriented for this side.
   *
   * @throws {Error} before the handshake is complete
   */
  split(): NoiseSplit {
    if (!this.complete) throw new Error('the handshake is not complete');
    const [c1, c2] = this.ss.split();
    return {
      send: this.initiator ? c1 : c2,
      receive: this.initiator ? c2 : c1,
      handshakeHash: this.ss.handshakeHash(),
    };
  }
}
