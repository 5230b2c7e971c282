import type { PenaltyReason } from '@detr/interface';

// The layer under the stream multiplexer: a two-way channel of plaintext messages. In the shipped
// transports it is the Noise secure session over a socket (or an in-process duplex pair): each
// message is sealed with one AEAD call, and a batch of messages leaves in one write.

/** What a {@link MessagePipe} reports to its user. */
export interface PipeHandlers {
  /** One authenticated plaintext message. It may be a view that stays valid: keep it or copy. */
  onMessage(plaintext: Uint8Array): void;
  /** The pipe drained after a `write()` that returned false. */
  onDrain(): void;
  /** The remote ended its side cleanly. */
  onEnd(): void;
  /**
   * The channel failed (socket error, authentication failure of a message, truncation).
   * `penalty` is set when the failure is the remote's fault (a forged or malformed message).
   */
  onError(err: Error, penalty?: PenaltyReason): void;
}

/** A channel of plaintext messages, each at most {@link MessagePipe.maxMessageBytes}. */
export interface MessagePipe {
  /** Largest plaintext message {@link MessagePipe.write} accepts. */
  readonly maxMessageBytes: number;
  /** Starts delivering inbound messages (none is delivered before). */
  start(handlers: PipeHandlers): void;
  /**
   * Sends messages, each given as the pieces to concatenate, in one write to the socket. The
   * pieces are sealed or copied before this returns: the caller may reuse them at once.
   * Returns false when the caller should wait for `onDrain` before writing more.
   */
  write(messages: readonly (readonly Uint8Array[])[]): boolean;
  /** Ends our side once everything written has been sent. */
  end(): void;
  /** Closes at once, dropping anything not yet sent. Idempotent. */
  destroy(): void;
}
