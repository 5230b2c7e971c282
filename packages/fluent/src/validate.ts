import { AbortError, type AbortOptions } from '@detr/interface';
import { PRIORITIES, levelOf } from './priority.js';
import type { OutboundMessage } from './types.js';

const NORMAL = 2;

/**
 * Checks a message handed to `send()` and returns its level and size.
 *
 * @throws {TypeError} for a malformed message, {RangeError} for one that can never fit its
 * priority's share of the queue, {AbortError} for an already aborted signal
 */
export function checkMessage(
  message: OutboundMessage,
  options: AbortOptions,
  capBytes: readonly number[],
): { level: number; bytes: number } {
  if (typeof message !== 'object' || message === null) {
    throw new TypeError('message must be an object');
  }
  const level = message.priority === undefined ? NORMAL : levelOf(message.priority);
  if (level < 0) throw new TypeError(`unknown priority ${String(message.priority)}`);
  if (typeof message.channel !== 'string') throw new TypeError('message.channel must be a string');
  if (!(message.data instanceof Uint8Array)) {
    throw new TypeError('message.data must be a Uint8Array');
  }
  const bytes = message.data.byteLength;
  if (bytes > (capBytes[level] as number)) {
    throw new RangeError(
      `a ${PRIORITIES[level]} message of ${bytes} bytes can never fit the queue`,
    );
  }
  if (options.signal?.aborted === true) {
    throw new AbortError(undefined, { cause: options.signal.reason });
  }
  return { level, bytes };
}
