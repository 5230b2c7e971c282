// The MessagePipe of the shipped TCP and in-memory transports: the aecomms secure session (Noise
// transport phase) over a byte duplex. One mux flush becomes one cork…uncork: every message in it
// is sealed once (one AEAD call), and all of them leave in a single writev.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureSession } from '@detr/aecomms';
import {
  DecryptError,
  FRAME_OVERHEAD_BYTES,
  MalformedFrameError,
  TruncatedStreamError,
} from '@detr/aecomms';
import type { Clock, Timer } from '@detr/interface';
import { ClosedError } from '@detr/interface';
import type { MessagePipe, PipeHandlers } from '../pipe.js';
import { canReadIntoSharedBuffer, readIntoSharedBuffer } from './read-buffer.js';
import { slabWithRoom } from './slab.js';

/** Parts at most this long are copied together before sealing (one AEAD update for all). */
const SMALL_PART_BYTES = 2048;
/**
 * Where small parts are gathered: one buffer for every pipe of the process (sealing copies them
 * out before returning, so it is free again at once), instead of one per connection.
 */
let scratch: Uint8Array = new Uint8Array(64 * 1024);
/** A sealed message up to this size is written as one buffer (a copy) rather than its pieces. */
const CONCAT_BELOW_BYTES = 16 * 1024;
/** A write of at least this many sealed bytes is sealed into the shared slab (see slab.ts). */
const SLAB_FROM_BYTES = 16 * 1024;

const ignore = (): void => {};

function sealedBytes(pieces: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

/** Bytes of the frames `messages` seal into. */
function frameBytes(messages: readonly (readonly Uint8Array[])[]): number {
  let n = 0;
  for (const parts of messages) n += sealedBytes(parts) + FRAME_OVERHEAD_BYTES;
  return n;
}

export interface NoisePipeOptions {
  /** Bytes that arrived with the last handshake message, to open before the socket's next data. */
  leftover?: Uint8Array | undefined;
  clock: Clock;
  /** Most time `end()` waits for the remote to end too before destroying the socket. */
  endTimeoutMs: number;
  /**
   * The socket is a kernel socket (`net.Socket`): it has copied what it was written when a
   * write's callback runs, and Node lets it read into a buffer of ours. The pipe then seals into a
   * reused buffer (slab.ts) and reads into the process's shared read buffer (read-buffer.ts).
   * Leave it unset for an in-process duplex, which hands the written buffers themselves to the
   * reader.
   */
  kernelSocket?: boolean;
}

class NoisePipe implements MessagePipe {
  readonly maxMessageBytes: number;
  private handlers: PipeHandlers | undefined;
  private onMessage: (plaintext: Uint8Array) => void = ignore;
  private done = false;
  /** Reads land in the process's shared buffer (read-buffer.ts). */
  private sharedReads = false;
  private endTimer: Timer | undefined;

  constructor(
    private readonly session: SecureSession,
    private readonly socket: Duplex,
    private readonly options: NoisePipeOptions,
  ) {
    this.maxMessageBytes = session.maxPlaintextBytes;
  }

  start(handlers: PipeHandlers): void {
    this.handlers = handlers;
    const socket = this.socket;
    // Bound once per pipe (no closures kept per connection beyond these).
    this.onMessage = handlers.onMessage.bind(handlers);
    socket.on('drain', () => handlers.onDrain());
    socket.on('end', () => {
      if (this.done) return;
      try {
        this.session.end();
      } catch (err) {
        this.failed(err);
        return;
      }
      handlers.onEnd();
    });
    socket.on('error', (err: Error) => this.failed(err));
    socket.on('close', () => {
      this.endTimer?.cancel();
      if (!this.done) this.failed(new ClosedError('The socket closed'));
      this.session.close();
    });
    const leftover = this.options.leftover;
    // Drop the reference: a leftover is often a view of a whole socket read buffer.
    this.options.leftover = undefined;
    // A kernel socket reads into the process's shared buffer (read-buffer.ts); where Node lacks
    // the hooks for that, into buffers of Node's, as any duplex.
    this.sharedReads =
      this.options.kernelSocket === true && canReadIntoSharedBuffer(socket as Socket);
    const receive = this.receive.bind(this);
    if (leftover !== undefined && leftover.length > 0) receive(leftover);
    // (After a hostile leftover the socket is destroyed: nothing more to read either way.)
    if (!this.sharedReads || !readIntoSharedBuffer(socket as Socket, receive)) {
      socket.on('data', receive);
    }
    socket.resume();
  }

  private receive(chunk: Uint8Array): void {
    if (this.done) return;
    try {
      this.session.open(chunk, this.onMessage);
      // A read of the shared buffer: nothing may refer to it once this returns.
      if (this.sharedReads) this.session.detachPartialFrame();
    } catch (err) {
      this.failed(err);
    }
  }

  write(messages: readonly (readonly Uint8Array[])[]): boolean {
    const socket = this.socket;
    if (this.done || socket.destroyed || socket.writableEnded) return true;
    try {
      // Only while the socket keeps up: a region is then written (and free again) at once, and a
      // slow peer's backlog is held in buffers of its own, never in the shared slab.
      if (
        this.options.kernelSocket === true &&
        socket.writableLength === 0 &&
        frameBytes(messages) >= SLAB_FROM_BYTES
      ) {
        return this.writeFromSlab(messages);
      }
      if (messages.length === 1) {
        // The common case (one small message per tick): one buffer, one write, no cork.
        const sealed = this.session.seal(this.compact(messages[0] as readonly Uint8Array[]));
        if (sealed.length === 1) return socket.write(sealed[0]);
        return sealedBytes(sealed) <= CONCAT_BELOW_BYTES
          ? socket.write(Buffer.concat(sealed))
          : this.writeAll([sealed]);
      }
      return this.writeAll(messages.map((parts) => this.session.seal(this.compact(parts))));
    } catch (err) {
      this.failed(err);
      return true;
    }
  }

  /** Seals the messages back to back into the shared slab and writes the region(s): one writev. */
  private writeFromSlab(messages: readonly (readonly Uint8Array[])[]): boolean {
    const socket = this.socket;
    let ok = true;
    socket.cork();
    try {
      let slab = slabWithRoom(0);
      let start = slab.offset;
      let o = start;
      for (const parts of messages) {
        const frame = sealedBytes(parts) + FRAME_OVERHEAD_BYTES;
        if (slab.room() - (o - start) < frame) {
          if (o > start) ok = socket.write(slab.take(o - start), slab.written);
          slab = slabWithRoom(frame);
          start = o = slab.offset;
        }
        o += this.session.sealInto(this.compact(parts), slab.buf, o);
      }
      if (o > start) ok = socket.write(slab.take(o - start), slab.written);
    } finally {
      socket.uncork();
    }
    return ok;
  }

  /** Writes sealed messages between cork() and uncork(): one writev. */
  private writeAll(sealed: readonly Buffer[][]): boolean {
    const socket = this.socket;
    let ok = true;
    socket.cork();
    try {
      for (const pieces of sealed) for (const b of pieces) ok = socket.write(b);
    } finally {
      socket.uncork();
    }
    return ok;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.socket.end();
    this.endTimer = this.options.clock.setTimeout(
      () => this.socket.destroy(),
      this.options.endTimeoutMs,
    );
  }

  destroy(): void {
    this.done = true;
    this.endTimer?.cancel();
    this.socket.destroy();
    this.session.close();
  }

  /** Runs of small parts copied into one buffer (so one AEAD update covers them); big parts kept. */
  private compact(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    let small = 0;
    let smallBytes = 0;
    for (const p of parts) {
      if (p.length <= SMALL_PART_BYTES) {
        small++;
        smallBytes += p.length;
      }
    }
    if (small < 2) return parts;
    if (scratch.length < smallBytes) scratch = new Uint8Array(smallBytes);
    const out: Uint8Array[] = [];
    const buf = scratch;
    let start = 0;
    let o = 0;
    for (const p of parts) {
      if (p.length <= SMALL_PART_BYTES) {
        buf.set(p, o);
        o += p.length;
        continue;
      }
      if (o > start) out.push(buf.subarray(start, o));
      start = o;
      out.push(p);
    }
    if (o > start) out.push(buf.subarray(start, o));
    return out;
  }

  private failed(err: unknown): void {
    if (this.done && !(err instanceof DecryptError)) {
      this.socket.destroy();
      return;
    }
    this.done = true;
    const hostile =
      err instanceof DecryptError ||
      err instanceof MalformedFrameError ||
      err instanceof TruncatedStreamError;
    const e = err instanceof Error ? err : new Error(String(err));
    this.handlers?.onError(
      e,
      hostile && !(err instanceof TruncatedStreamError) ? 'invalid-message' : undefined,
    );
    this.socket.destroy();
  }
}

/**
 * A {@link MessagePipe} sealing and opening messages with `session` over `socket`.
 *
 * @example
 * ```ts
 * const pipe = createNoisePipe(result.session, socket, { clock, endTimeoutMs: 5000 })
 * ```
 */
export function createNoisePipe(
  session: SecureSession,
  socket: Duplex,
  options: NoisePipeOptions,
): MessagePipe {
  return new NoisePipe(session, socket, options);
}
