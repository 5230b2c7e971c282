import type { ProtocolError } from './errors.js';
import { FrameTooLargeError, MalformedError, toProtocolError, TruncatedError } from './errors.js';
import type { Frame, FrameOptions, ResolvedFrameOptions } from './frame.js';
import { MAX_LENGTH_PREFIX_BYTES } from './constants.js';
import { parseFrameContent, resolveFrameOptions } from './frame.js';

/**
 * A streaming frame decoder: feed it chunks cut anywhere (one byte at a time or many frames at
 * once) and it returns every frame completed by each chunk.
 *
 * It holds at most one frame: the length prefix is checked against `maxFrameBytes` before a byte
 * of the frame is buffered, and a frame split across chunks is reassembled in one buffer of
 * exactly its size. A frame wholly inside one chunk is returned as a view into that chunk (no
 * copy), so do not reuse a chunk's memory while its frames are in use.
 *
 * After an error the decoder is failed: every later call throws the same error (a byte stream
 * cannot be resynchronised).
 */
export interface FrameDecoder {
  /**
   * Consumes a chunk; returns the frames it completes, in order.
   *
   * @throws {ProtocolError} (and only that) when the stream is not valid framing
   */
  push(chunk: Uint8Array): Frame[];
  /**
   * Declares the end of the stream.
   *
   * @throws {TruncatedError} when it ends inside a frame
   */
  end(): void;
  /** Bytes held for an incomplete frame (never more than `maxFrameBytes` + 5). */
  readonly bufferedBytes: number;
}

class StreamDecoder implements FrameDecoder {
  private readonly o: ResolvedFrameOptions;
  private lenValue = 0;
  private lenMul = 1;
  private lenBytes = 0;
  /** Content length of the current frame once its prefix is read; -1 while reading it. */
  private need = -1;
  private partial: Uint8Array | undefined;
  private filled = 0;
  private failed: ProtocolError | undefined;
  private ended = false;

  constructor(o: ResolvedFrameOptions) {
    this.o = o;
  }

  get bufferedBytes(): number {
    return this.lenBytes + this.filled;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failed !== undefined) throw this.failed;
    if (this.ended) throw new TypeError('push() after end()');
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    try {
      return this.consume(chunk);
    } catch (err) {
      throw this.fail(toProtocolError(err));
    }
  }

  end(): void {
    if (this.failed !== undefined) throw this.failed;
    this.ended = true;
    if (this.lenBytes > 0 || this.need >= 0) {
      throw this.fail(
        new TruncatedError(`stream ends inside a frame (${this.bufferedBytes} bytes buffered)`),
      );
    }
  }

  private fail(err: ProtocolError): ProtocolError {
    this.failed = err;
    this.partial = undefined;
    this.filled = 0;
    this.lenBytes = 0;
    this.need = -1;
    return err;
  }

  private consume(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    const o = this.o;
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.partial !== undefined) {
        const take = Math.min(this.need - this.filled, n - pos);
        this.partial.set(chunk.subarray(pos, pos + take), this.filled);
        this.filled += take;
        pos += take;
        if (this.filled === this.need) {
          const content = this.partial;
          this.partial = undefined;
          this.filled = 0;
          this.need = -1;
          frames.push(parseFrameContent(content, o));
        }
        continue;
      }
      if (this.need < 0) {
        // Length prefix, one byte at a time; the limit is checked on every byte.
        const b = chunk[pos++]!;
        this.lenBytes++;
        this.lenValue += (b & 0x7f) * this.lenMul;
        if (this.lenValue > o.maxFrameBytes)
          throw new FrameTooLargeError(this.lenValue, o.maxFrameBytes);
        if (b >= 0x80) {
          this.lenMul *= 128;
          // Whatever the next bytes, the length is at least lenMul (minimal encoding).
          if (this.lenMul > o.maxFrameBytes)
            throw new FrameTooLargeError(this.lenMul, o.maxFrameBytes);
          if (this.lenBytes >= MAX_LENGTH_PREFIX_BYTES)
            throw new MalformedError('frame length longer than 5 bytes');
          continue;
        }
        if (b === 0 && this.lenBytes > 1) throw new MalformedError('non-minimal frame length');
        const length = this.lenValue;
        this.lenValue = 0;
        this.lenMul = 1;
        this.lenBytes = 0;
        if (length < 2)
          throw new MalformedError(`frame of ${length} bytes has no room for its header`);
        this.need = length;
        continue;
      }
      if (n - pos >= this.need) {
        const content = chunk.subarray(pos, pos + this.need);
        pos += this.need;
        this.need = -1;
        frames.push(parseFrameContent(content, o));
        continue;
      }
      // The frame continues in later chunks: one buffer of exactly its (checked) size.
      this.partial = new Uint8Array(this.need);
      this.partial.set(chunk.subarray(pos), 0);
      this.filled = n - pos;
      pos = n;
    }
    return frames;
  }
}

/**
 * Creates a streaming {@link FrameDecoder}.
 *
 * @throws {RangeError} for invalid options
 * @example
 * ```ts
 * const decoder = createFrameDecoder({ maxFrameBytes: 1 << 20, versions: [negotiated] })
 * socket.on('data', (chunk) => {
 *   for (const frame of decoder.push(chunk)) onFrame(frame)
 * })
 * ```
 */
export function createFrameDecoder(options?: FrameOptions): FrameDecoder {
  return new StreamDecoder(resolveFrameOptions(options));
}

/**
 * Decodes the frames of a byte stream.
 *
 * @throws {ProtocolError} when the stream is not valid framing or ends inside a frame
 * @example
 * ```ts
 * for await (const frame of decodeFrames(stream)) handle(frame)
 * ```
 */
export async function* decodeFrames(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: FrameOptions,
): AsyncGenerator<Frame, void, undefined> {
  const decoder = createFrameDecoder(options);
  for await (const chunk of source) {
    yield* decoder.push(chunk);
  }
  decoder.end();
}
