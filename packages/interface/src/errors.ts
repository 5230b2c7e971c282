/**
 * Base error of every detr package. Subclasses set a stable `name` and `code`; callers match on
 * those, never on `message`.
 *
 * @example
 * ```ts
 * try { await node.request(peer, 'echo', data) } catch (err) {
 *   if (err instanceof DetrError && err.code === 'TIMEOUT') retry()
 * }
 * ```
 */
export class DetrError extends Error {
  /** A stable, upper-case identifier of the failure kind. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DetrError';
    this.code = code;
  }
}

/** The operation was cancelled through its `AbortSignal`, or because its owner stopped. */
export class AbortError extends DetrError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ABORTED', options);
    this.name = 'AbortError';
  }
}

/** The operation did not finish within its time limit. */
export class TimeoutError extends DetrError {
  constructor(message = 'The operation timed out', options?: { cause?: unknown }) {
    super(message, 'TIMEOUT', options);
    this.name = 'TimeoutError';
  }
}

/** A method that needs a started service was called before `start()` or after `stop()`. */
export class NotStartedError extends DetrError {
  constructor(message = 'The service is not started', options?: { cause?: unknown }) {
    super(message, 'NOT_STARTED', options);
    this.name = 'NotStartedError';
  }
}

/** The resource (connection, stream, store) is closed and cannot be used any more. */
export class ClosedError extends DetrError {
  constructor(message = 'The resource is closed', options?: { cause?: unknown }) {
    super(message, 'CLOSED', options);
    this.name = 'ClosedError';
  }
}

/**
 * Throws an {@link AbortError} if `signal` is aborted, carrying the signal's reason as `cause`.
 *
 * @throws {AbortError} when the signal is aborted
 * @example
 * ```ts
 * throwIfAborted(options.signal)
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new AbortError(undefined, { cause: signal.reason });
  }
}
