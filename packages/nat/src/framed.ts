// Length-prefixed protocol frames over a byte stream (signaling, relay and AutoNAT streams), read
// one at a time: exactly one frame is taken from the stream and any bytes after it are put back,
// so a stream can switch to raw bytes after a message (a relayed circuit after its response).
// Frames are bounded, only the expected types are accepted, and every decoding failure becomes a
// ProtocolViolationError for the caller to answer with a reset and a penalty.
import type { Duplex } from 'node:stream';
import { AbortError, ClosedError, ProtocolViolationError, TimeoutError } from '@detr/interface';
import {
  decodeFrame,
  decodeMessage,
  encodeFrame,
  type MessageByType,
  type MessageInitByType,
  type MessageType,
} from '@detr/protocol';

/** One decoded message and its type code. */
export type Received<T extends MessageType> = {
  [K in T]: { readonly type: K; readonly message: MessageByType[K] };
}[T];

function reasonOf(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (typeof r === 'object' && r !== null && (r as { name?: unknown }).name === 'TimeoutError') {
    return new TimeoutError(undefined, { cause: r });
  }
  return new AbortError(undefined, { cause: r });
}

/** Length of a varint prefix and its value, or undefined while incomplete. */
function prefix(buf: Uint8Array): { bytes: number; value: number } | undefined | 'bad' {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < Math.min(buf.length, 5); i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return { bytes: i + 1, value };
    mul *= 128;
  }
  return buf.length >= 5 ? 'bad' : undefined;
}

/**
 * Reads exactly one frame of one of `types` from `stream` (bytes after it stay in the stream).
 *
 * @throws {ProtocolViolationError} for bad framing, a frame over `maxFrameBytes`, another type,
 *   or invalid fields
 * @throws {ClosedError} when the stream ends or fails first
 * @throws {TimeoutError} / {AbortError} when `signal` fires first
 * @example
 * ```ts
 * const { type, message } = await readMessage(stream, [MessageType.RelayRequest], { maxFrameBytes: 4096, signal })
 * ```
 */
export async function readMessage<T extends MessageType>(
  stream: Duplex,
  types: readonly T[],
  options: { maxFrameBytes: number; signal?: AbortSignal },
): Promise<Received<T>> {
  const { maxFrameBytes, signal } = options;
  const parts: Buffer[] = [];
  let have = 0;
  for (;;) {
    if (signal?.aborted === true) {
      if (have > 0) stream.unshift(Buffer.concat(parts, have));
      throw reasonOf(signal);
    }
    const chunk = stream.read() as Buffer | null;
    if (chunk === null) {
      if (stream.readableEnded || stream.destroyed) throw new ClosedError('stream ended');
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('readable', done);
          stream.off('end', done);
          stream.off('close', done);
          stream.off('error', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        stream.on('readable', done);
        stream.on('end', done);
        stream.on('close', done);
        stream.on('error', done);
        signal?.addEventListener('abort', done, { once: true });
      });
      continue;
    }
    parts.push(chunk);
    have += chunk.length;
    const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have);
    const p = prefix(buf);
    if (p === 'bad' || (p !== undefined && p.value > maxFrameBytes)) {
      throw new ProtocolViolationError('bad or oversized frame');
    }
    if (p === undefined || have < p.bytes + p.value) {
      parts.length = 0;
      parts.push(buf);
      continue;
    }
    const end = p.bytes + p.value;
    if (have > end) stream.unshift(buf.subarray(end));
    try {
      const frame = decodeFrame(buf.subarray(0, end), { maxFrameBytes, types });
      return { type: frame.type, message: decodeMessage(frame.type, frame.body) } as Received<T>;
    } catch (err) {
      throw new ProtocolViolationError('malformed frame', { cause: err });
    }
  }
}

/**
 * Writes one message as a frame; resolves once the stream took it.
 *
 * @throws {RangeError} when the frame would exceed `maxFrameBytes`
 * @throws {ClosedError} when the stream is closed
 * @example
 * ```ts
 * await writeMessage(stream, MessageType.RelayResponse, { status: RelayStatus.RELAY_STATUS_OK }, 4096)
 * ```
 */
export function writeMessage<K extends MessageType>(
  stream: Duplex,
  type: K,
  message: MessageInitByType[K],
  maxFrameBytes: number,
): Promise<void> {
  const bytes = encodeFrame(type, message, { maxFrameBytes });
  return new Promise<void>((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new ClosedError('stream closed'));
      return;
    }
    stream.write(bytes, (err) =>
      err ? reject(new ClosedError('stream closed', { cause: err })) : resolve(),
    );
  });
}
