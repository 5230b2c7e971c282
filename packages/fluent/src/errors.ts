import { DetrError } from '@detr/interface';

/**
 * A message was refused because its queue is full: the priority's policy is `reject`, a
 * `drop-oldest` priority had nothing of its own to drop, or a `wait` priority already has
 * `maxWaiting` callers (or `maxWaitingBytes`) waiting.
 *
 * @example
 * ```ts
 * try { await queue.send({ channel: 'chat', data, priority: 'bulk' }) } catch (err) {
 *   if (err instanceof QueueFullError) slowDown()
 * }
 * ```
 */
export class QueueFullError extends DetrError {
  constructor(message = 'The outbound queue is full', options?: { cause?: unknown }) {
    super(message, 'QUEUE_FULL', options);
    this.name = 'QueueFullError';
  }
}

/**
 * A queued message was evicted before it was sent, to make room for a newer message of the same
 * priority (the `drop-oldest` policy).
 *
 * @example
 * ```ts
 * queue.send(update).catch((err) => {
 *   if (err instanceof MessageDroppedError) return // superseded by a newer update
 * })
 * ```
 */
export class MessageDroppedError extends DetrError {
  constructor(
    message = 'The message was dropped from a full queue',
    options?: { cause?: unknown },
  ) {
    super(message, 'MESSAGE_DROPPED', options);
    this.name = 'MessageDroppedError';
  }
}

/**
 * The sink threw or rejected with something that is not an `Error`; the original value is the
 * `cause`. (A sink's `Error` is passed through unchanged.)
 *
 * @example
 * ```ts
 * if (err instanceof SinkError) log.warn({ cause: err.cause }, 'sink failed')
 * ```
 */
export class SinkError extends DetrError {
  constructor(message = 'The sink failed', options?: { cause?: unknown }) {
    super(message, 'SINK_FAILED', options);
    this.name = 'SinkError';
  }
}
