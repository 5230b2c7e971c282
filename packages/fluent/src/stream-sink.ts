import type { Writable } from 'node:stream';
import { ClosedError } from '@detr/interface';
import type { OutboundMessage, Sink } from './types.js';

/**
 * A {@link Sink} writing to a Node stream with its backpressure: when `write()` returns false the
 * sink's promise settles only at `'drain'`, so the scheduler sends nothing more to this stream
 * until then, and the stream never buffers more than its `highWaterMark` plus the messages in
 * flight (`maxInFlightPerPeer`). If the stream closes or errors before draining, that message
 * fails with `ClosedError` (or the stream's error): it may or may not have gone out.
 *
 * @param encode turns a message into the bytes to write (e.g. a frame carrying its channel);
 * @default the message's `data`
 * @example
 * ```ts
 * const queue = scheduler.open(peer, streamSink(stream, (m) => encodeData(m.channel, m.data)))
 * ```
 */
export function streamSink(
  stream: Writable,
  encode: (message: OutboundMessage) => Uint8Array = (m) => m.data,
): Sink {
  return (message) => {
    if (stream.destroyed || stream.writableEnded) throw new ClosedError('The stream is closed');
    if (stream.write(encode(message))) return undefined;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        stream.off('drain', onDrain);
        stream.off('close', onClose);
        stream.off('error', onError);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new ClosedError('The stream closed before it drained'));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      stream.on('drain', onDrain);
      stream.on('close', onClose);
      stream.on('error', onError);
    });
  };
}
