// Where received messages go (handlers by channel, `*` for all), and the wait for an
// acknowledgement with its time limit.
import { AbortError, TimeoutError, type Clock, type Logger } from '@detr/interface';
import type { MessageHandler, ReceivedMessage, SendResult } from './types.js';

/** Handlers by channel. */
export interface HandlerRegistry {
  add(channel: string, handler: MessageHandler): () => void;
  /** Calls every handler of the message's channel, then the catch-all ones; never throws. */
  deliver(message: ReceivedMessage): void;
}

/** A handler registry whose failures are logged. */
export function createHandlerRegistry(log: Logger): HandlerRegistry {
  const handlers = new Map<string, Set<MessageHandler>>();
  const call = (h: MessageHandler, message: ReceivedMessage): void => {
    try {
      const r = h(message);
      if (r instanceof Promise)
        r.catch((err: unknown) => log.warn({ err: String(err) }, 'message handler failed'));
    } catch (err) {
      log.warn({ err: String(err) }, 'message handler failed');
    }
  };
  return {
    add(channel, handler) {
      let set = handlers.get(channel);
      if (set === undefined) handlers.set(channel, (set = new Set()));
      set.add(handler);
      return () => set.delete(handler);
    },
    deliver(message) {
      for (const h of handlers.get(message.channel) ?? []) call(h, message);
      for (const h of handlers.get('*') ?? []) call(h, message);
    },
  };
}

/**
 * Waits for `acked` at most `timeoutMs` (the message stays queued after a timeout).
 *
 * @throws {TimeoutError} after `timeoutMs`
 * @throws {AbortError} when `signal` aborts
 */
export function waitForAck(
  acked: Promise<SendResult>,
  seq: number,
  timeoutMs: number,
  signal: AbortSignal,
  clock: Clock,
): Promise<SendResult> {
  return new Promise<SendResult>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      cleanup();
      reject(
        new TimeoutError(`no acknowledgement of ${seq} within ${timeoutMs} ms (still queued)`),
      );
    }, timeoutMs);
    const onAbort = (): void => {
      cleanup();
      reject(new AbortError(undefined, { cause: signal.reason }));
    };
    const cleanup = (): void => {
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    acked.then(
      (r) => {
        cleanup();
        resolve(r);
      },
      (e: Error) => {
        cleanup();
        reject(e);
      },
    );
  });
}
