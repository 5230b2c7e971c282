// The secure session: the Noise transport phase over a byte stream.
//
// Wire format, one frame per Noise transport message:
//
//   frame = length(2 bytes, big-endian) ‖ ciphertext ‖ tag(16)      16 ≤ length ≤ 65,535
//
// Each direction has its own CipherState; nonces are implicit 64-bit counters, so a tampered,
// truncated, reordered, replayed or dropped frame fails authentication. Every `rekeyAfterMessages`
// messages both sides apply Noise REKEY to that direction's key (deterministically, no signalling).
// Any failure is fatal: the session closes and every later call throws.
import { ClosedError } from '@detr/interface';
import {
  DecryptError,
  MalformedFrameError,
  NonceExhaustedError,
  TruncatedStreamError,
} from '../errors.js';
import { totalLength } from '../crypto/provider.js';
import { MAX_NOISE_MESSAGE_BYTES, TAG_BYTES, type CipherState } from '../noise/cipher-state.js';

/** The largest plaintext one message carries: 65,535 − 16 = 65,519 bytes. */
export const MAX_PLAINTEXT_BYTES = MAX_NOISE_MESSAGE_BYTES - TAG_BYTES;
/** Bytes of a frame's length prefix. */
export const FRAME_HEADER_BYTES = 2;
/** Bytes a frame adds to its plaintext: the length prefix and the tag. */
export const FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + TAG_BYTES;
/** Default of {@link SecureSessionInit.rekeyAfterMessages}. */
export const DEFAULT_REKEY_AFTER_MESSAGES = 65_536;

const EMPTY = new Uint8Array(0);

function asList(parts: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] {
  return parts instanceof Uint8Array ? [parts] : parts;
}

/** Counters of a session. */
export interface SecureSessionStats {
  messagesSent: number;
  messagesReceived: number;
  /** Plaintext bytes sealed. */
  bytesSealed: number;
  /** Plaintext bytes opened. */
  bytesOpened: number;
  /** Rekeys applied, both directions. */
  rekeys: number;
}

/**
 * An established secure channel (Noise transport phase). Not a stream itself: {@link seal}
 * produces frames to write, {@link open} consumes received bytes at any chunk boundaries. Use
 * `createSecureStream` for a Duplex with backpressure.
 */
export interface SecureSession {
  /** The largest plaintext of one message (65,519). */
  readonly maxPlaintextBytes: number;
  /** The Noise handshake hash: a unique session identifier, usable for channel binding. */
  readonly handshakeHash: Uint8Array;
  /** True after {@link close} or a fatal error. */
  readonly closed: boolean;
  /**
   * Seals one or several plaintext buffers into ONE frame, without concatenating them: the result
   * is the frame as buffers to write in order (header, ciphertext pieces, tag), e.g. between
   * `socket.cork()` and `socket.uncork()` so they leave in one syscall. The input buffers may be
   * reused once this returns.
   *
   * @throws {RangeError} when the parts add up to more than {@link maxPlaintextBytes}
   * @throws {ClosedError} after the session closed
   * @throws {NonceExhaustedError} when the send nonce space is used up (the session closes)
   */
  seal(parts: Uint8Array | readonly Uint8Array[]): Buffer[];
  /**
   * Like {@link seal}, written as one frame into `out` at `offset`, which must have room for
   * the plaintext plus {@link FRAME_OVERHEAD_BYTES}. Returns the bytes written. With the built-in
   * providers the ciphertext is written in place (no buffer is allocated); with others the frame
   * is copied there. For batching: seal every message of a write into one reused buffer.
   *
   * @throws {RangeError} when the parts add up to more than {@link maxPlaintextBytes} or `out` is
   *   too short
   * @throws {ClosedError} after the session closed
   * @throws {NonceExhaustedError} when the send nonce space is used up (the session closes)
   */
  sealInto(parts: Uint8Array | readonly Uint8Array[], out: Uint8Array, offset: number): number;
  /**
   * Like {@link seal}, as one contiguous buffer (one extra copy).
   *
   * @throws {RangeError} when the parts add up to more than {@link maxPlaintextBytes}
   * @throws {ClosedError} after the session closed
   */
  sealToBuffer(parts: Uint8Array | readonly Uint8Array[]): Buffer;
  /**
   * Consumes received bytes (any chunk boundaries) and calls `onMessage` with each authenticated
   * plaintext, in order, synchronously. Each plaintext is memory of its own (never a view of
   * `chunk`). Holds at most one partial frame, as views of the chunks it came in until
   * {@link detachPartialFrame}.
   *
   * @throws {DecryptError} for a frame that fails authentication (the session closes)
   * @throws {MalformedFrameError} for a length below the tag size (the session closes)
   * @throws {ClosedError} after the session closed
   */
  open(chunk: Uint8Array, onMessage: (plaintext: Uint8Array) => void): void;
  /**
   * Makes the session independent of the chunks given to {@link open} so far: the start of a frame
   * not yet complete, which it holds as views of them, is copied into memory of its own (one
   * buffer per frame, filled as its bytes arrive: a frame trickled in byte by byte is still
   * copied once). Call it after `open` when the caller reuses its read buffer; the plaintexts
   * `open` delivers are always memory of their own.
   */
  detachPartialFrame(): void;
  /** True while a partial frame is buffered (the stream must not end here). */
  readonly pendingPartialFrame: boolean;
  /**
   * Declares the end of the received byte stream.
   *
   * @throws {TruncatedStreamError} when it ends inside a frame (the session closes)
   */
  end(): void;
  /** Closes the session; idempotent. */
  close(): void;
  stats(): SecureSessionStats;
}

/** What a session needs: the two transport CipherStates of a completed handshake. */
export interface SecureSessionInit {
  send: CipherState;
  receive: CipherState;
  handshakeHash: Uint8Array;
  /**
   * Apply Noise REKEY to each direction after this many messages in that direction; 0 disables.
   *
   * @default 65536
   */
  rekeyAfterMessages?: number;
}

class Session implements SecureSession {
  readonly maxPlaintextBytes = MAX_PLAINTEXT_BYTES;
  readonly handshakeHash: Uint8Array;
  private readonly send: CipherState;
  private readonly receive: CipherState;
  private readonly rekeyEvery: number;
  private sinceSendRekey = 0;
  private sinceReceiveRekey = 0;
  private isClosed = false;
  private readonly counters: SecureSessionStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSealed: 0,
    bytesOpened: 0,
    rekeys: 0,
  };
  // Receive state: the header (possibly split across chunks), then the frame's ciphertext pieces
  // (views of received chunks, no copy) and its tag (copied when split across chunks).
  private headerByte = -1;
  private frameLength = -1;
  private ctNeeded = 0;
  private readonly ctPieces: Uint8Array[] = [];
  private tagFill = 0;
  /** A tag split across chunks is gathered here (allocated the first time that happens). */
  private tag: Uint8Array | undefined;
  /** The ciphertext of the frame being collected, once detached (see detachPartialFrame). */
  private partial: Buffer | undefined;

  constructor(init: SecureSessionInit) {
    this.send = init.send;
    this.receive = init.receive;
    this.handshakeHash = Uint8Array.from(init.handshakeHash);
    const every = init.rekeyAfterMessages ?? DEFAULT_REKEY_AFTER_MESSAGES;
    if (!Number.isInteger(every) || every < 0) {
      throw new RangeError('rekeyAfterMessages must be a non-negative integer');
    }
    this.rekeyEvery = every;
    if (!this.send.hasKey() || !this.receive.hasKey()) throw new Error('cipher states need keys');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingPartialFrame(): boolean {
    return this.headerByte !== -1 || this.frameLength !== -1;
  }

  stats(): SecureSessionStats {
    return { ...this.counters };
  }

  close(): void {
    this.isClosed = true;
    this.ctPieces.length = 0;
    this.partial = undefined;
  }

  private fail(err: Error): never {
    this.close();
    throw err;
  }

  /** The plaintext bytes of `list`, checked against the message limit (and the session open). */
  private plaintextBytes(list: readonly Uint8Array[]): number {
    if (this.isClosed) throw new ClosedError('The secure session is closed');
    const n = totalLength(list);
    if (n > MAX_PLAINTEXT_BYTES) {
      throw new RangeError(`a message carries at most ${MAX_PLAINTEXT_BYTES} plaintext bytes`);
    }
    return n;
  }

  /** Counts a sealed message and applies the send rekey when due. */
  private sealed(n: number): void {
    this.counters.messagesSent++;
    this.counters.bytesSealed += n;
    if (this.rekeyEvery > 0 && ++this.sinceSendRekey >= this.rekeyEvery) {
      this.sinceSendRekey = 0;
      this.send.rekey();
      this.counters.rekeys++;
    }
  }

  sealInto(parts: Uint8Array | readonly Uint8Array[], out: Uint8Array, offset: number): number {
    const list = asList(parts);
    const n = this.plaintextBytes(list);
    const bytes = FRAME_HEADER_BYTES + n + TAG_BYTES;
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes > out.length) {
      throw new RangeError(`sealInto needs ${bytes} bytes of room at the offset`);
    }
    if (!this.send.canEncryptInto(n)) {
      const frame = this.seal(list);
      let o = offset;
      for (const b of frame) {
        out.set(b, o);
        o += b.length;
      }
      return bytes;
    }
    this.sealFrame(list, n, out, offset);
    return bytes;
  }

  seal(parts: Uint8Array | readonly Uint8Array[]): Buffer[] {
    const list = asList(parts);
    const n = this.plaintextBytes(list);
    if (this.send.canEncryptInto(n)) {
      // One buffer for the whole frame: length, then ciphertext and tag written in place.
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n + TAG_BYTES);
      this.sealFrame(list, n, frame, 0);
      return [frame];
    }
    const out: Buffer[] = [];
    try {
      const pieces = this.send.encryptParts(EMPTY, list);
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      header.writeUInt16BE(n + TAG_BYTES, 0);
      out.push(header);
      for (const p of pieces)
        out.push(Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    } catch (err) {
      if (err instanceof NonceExhaustedError) this.fail(err);
      throw err;
    }
    this.sealed(n);
    return out;
  }

  /** Writes the frame of `list` (`n` plaintext bytes) into `out` at `offset`, encrypted in place. */
  private sealFrame(list: readonly Uint8Array[], n: number, out: Uint8Array, offset: number): void {
    out[offset] = (n + TAG_BYTES) >>> 8;
    out[offset + 1] = (n + TAG_BYTES) & 0xff;
    try {
      this.send.encryptInto(EMPTY, list, out, offset + FRAME_HEADER_BYTES);
    } catch (err) {
      if (err instanceof NonceExhaustedError) this.fail(err);
      throw err;
    }
    this.sealed(n);
  }

  sealToBuffer(parts: Uint8Array | readonly Uint8Array[]): Buffer {
    const frame = this.seal(parts);
    return frame.length === 1 ? (frame[0] as Buffer) : Buffer.concat(frame);
  }

  detachPartialFrame(): void {
    const pieces = this.ctPieces;
    if (pieces.length === 0) return;
    let buf = this.partial;
    let fill = 0;
    let from = 0;
    // The frame's own buffer is its first piece once detached: only the pieces after it are new.
    if (buf !== undefined && (pieces[0] as Uint8Array).buffer === buf.buffer) {
      fill = (pieces[0] as Uint8Array).length;
      from = 1;
    } else {
      buf = this.partial = Buffer.allocUnsafeSlow(this.frameLength - TAG_BYTES);
    }
    for (let i = from; i < pieces.length; i++) {
      const p = pieces[i] as Uint8Array;
      buf.set(p, fill);
      fill += p.length;
    }
    pieces.length = 0;
    pieces.push(buf.subarray(0, fill));
  }

  open(chunk: Uint8Array, onMessage: (plaintext: Uint8Array) => void): void {
    if (this.isClosed) throw new ClosedError('The secure session is closed');
    let o = 0;
    const len = chunk.length;
    while (o < len) {
      if (this.frameLength === -1) {
        // Header.
        if (this.headerByte === -1) {
          if (len - o >= FRAME_HEADER_BYTES) {
            this.frameLength = ((chunk[o] as number) << 8) | (chunk[o + 1] as number);
            o += 2;
          } else {
            this.headerByte = chunk[o] as number;
            o += 1;
            continue;
          }
        } else {
          this.frameLength = (this.headerByte << 8) | (chunk[o] as number);
          this.headerByte = -1;
          o += 1;
        }
        if (this.frameLength < TAG_BYTES) this.fail(new MalformedFrameError());
        this.ctNeeded = this.frameLength - TAG_BYTES;
        this.tagFill = 0;
        // Fast path: the whole frame is in this chunk.
        if (this.ctPieces.length === 0 && len - o >= this.frameLength) {
          const ctEnd = o + this.ctNeeded;
          this.deliver(
            [chunk.subarray(o, ctEnd)],
            chunk.subarray(ctEnd, ctEnd + TAG_BYTES),
            onMessage,
          );
          o = ctEnd + TAG_BYTES;
          continue;
        }
      }
      // Slow path: collect the rest of the frame across chunks.
      if (this.ctNeeded > 0) {
        const take = Math.min(this.ctNeeded, len - o);
        if (take === 0) return;
        this.ctPieces.push(chunk.subarray(o, o + take));
        this.ctNeeded -= take;
        o += take;
        if (this.ctNeeded > 0) return;
      }
      const takeTag = Math.min(TAG_BYTES - this.tagFill, len - o);
      const tag = (this.tag ??= new Uint8Array(TAG_BYTES));
      tag.set(chunk.subarray(o, o + takeTag), this.tagFill);
      this.tagFill += takeTag;
      o += takeTag;
      if (this.tagFill < TAG_BYTES) return;
      const pieces = this.ctPieces.splice(0, this.ctPieces.length);
      this.deliver(pieces, tag, onMessage);
    }
  }

  private deliver(
    pieces: Uint8Array[],
    tag: Uint8Array,
    onMessage: (plaintext: Uint8Array) => void,
  ): void {
    this.frameLength = -1;
    this.partial = undefined;
    let plaintext: Uint8Array | null;
    try {
      plaintext = this.receive.decryptPieces(EMPTY, pieces, tag);
    } catch (err) {
      if (err instanceof NonceExhaustedError) this.fail(err);
      throw err;
    }
    if (plaintext === null) this.fail(new DecryptError());
    this.counters.messagesReceived++;
    this.counters.bytesOpened += plaintext.length;
    if (this.rekeyEvery > 0 && ++this.sinceReceiveRekey >= this.rekeyEvery) {
      this.sinceReceiveRekey = 0;
      this.receive.rekey();
      this.counters.rekeys++;
    }
    onMessage(plaintext);
  }

  end(): void {
    if (this.isClosed) return;
    if (this.pendingPartialFrame) this.fail(new TruncatedStreamError());
  }
}

/**
 * A secure session over the transport cipher states of a completed handshake. Usually obtained
 * from `performHandshake`; exposed for custom framings and tests.
 *
 * @throws {RangeError} for an invalid `rekeyAfterMessages`
 * @example
 * ```ts
 * const { send, receive, handshakeHash } = noise.split()
 * const session = createSecureSession({ send, receive, handshakeHash })
 * socket.cork(); for (const b of session.seal([header, payload])) socket.write(b); socket.uncork()
 * ```
 */
export function createSecureSession(init: SecureSessionInit): SecureSession {
  return new Session(init);
}
