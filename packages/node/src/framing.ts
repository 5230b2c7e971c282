// Frames on streams: write one message with backpressure, read validated messages.
import type { Stream } from '@detr/interface';
import { ClosedError } from '@detr/interface';
import {
  decodeFrameBody,
  createFrameDecoder,
  decodeFrames,
  encodeFrame,
  type AnyMessage,
  type MessageInitByType,
  type MessageType,
} from '@detr/protocol';

/** Largest frame the node's protocols accept (16 MiB payloads + headers). */
export const NODE_MAX_FRAME_BYTES = 17 * 1024 * 1024;

/**
 * Writes raw bytes, resolving once the stream accepted them (after `'drain'` when its buffer is
 * full).
 *
 * @throws {ClosedError} when the stream closes first
 */
export function writeBytes(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (stream.destroyed || stream.writableEnded) {
    return Promise.reject(new ClosedError('stream closed'));
  }
  if (stream.write(bytes)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new ClosedError('stream closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

/**
 * Encodes and writes one frame.
 *
 * @throws {ClosedError} when the stream closes first; {RangeError}/{TypeError} for a bad message
 */
export function writeFrame<T extends MessageType>(
  stream: Stream,
  type: T,
  message: MessageInitByType[T],
): Promise<void> {
  return writeBytes(stream, encodeFrame(type, message, { maxFrameBytes: NODE_MAX_FRAME_BYTES }));
}

/** Encodes one frame (for callers that queue bytes). */
export function frameBytes<T extends MessageType>(
  type: T,
  message: MessageInitByType[T],
): Uint8Array {
  return encodeFrame(type, message, { maxFrameBytes: NODE_MAX_FRAME_BYTES });
}

/**
 * The messages of a stream, decoded and validated; only `types` are accepted.
 *
 * @throws {ProtocolError} for anything that is not valid framing of those types
 */
export async function* readMessages(
  stream: AsyncIterable<Uint8Array>,
  types: readonly number[],
  maxFrameBytes = NODE_MAX_FRAME_BYTES,
): AsyncGenerator<AnyMessage, void, undefined> {
  for await (const frame of decodeFrames(stream, { types, maxFrameBytes })) {
    yield decodeFrameBody(frame);
  }
}

/**
 * Reads the first message of a stream without consuming its end: the stream stays open for
 * writing the answer. Resolves `undefined` when the stream ends first.
 *
 * @throws {ProtocolError} for invalid framing
 */
export function readFirst(
  stream: Stream,
  types: readonly number[],
  maxFrameBytes = NODE_MAX_FRAME_BYTES,
): Promise<AnyMessage | undefined> {
  const decoder = createFrameDecoder({ types, maxFrameBytes });
  return new Promise<AnyMessage | undefined>((resolve, reject) => {
    const finish = (fn: () => void): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      stream.pause();
      fn();
    };
    const onData = (chunk: Uint8Array): void => {
      try {
        const frames = decoder.push(chunk);
        const first = frames[0];
        if (first !== undefined) {
          const msg = decodeFrameBody(first);
          finish(() => resolve(msg));
        }
      } catch (err) {
        finish(() => reject(err instanceof Error ? err : new Error(String(err))));
      }
    };
    const onEnd = (): void => finish(() => resolve(undefined));
    const onError = (err: Error): void => finish(() => reject(err));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
  });
}
