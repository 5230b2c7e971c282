import { DetrError } from '@detr/interface';

/**
 * The reason dpeers gives when it cuts an open connection at once: its peer was banned, or left
 * the authorized set. Passed to `connection.abort()`, so stream users see it.
 *
 * @example
 * ```ts
 * if (err instanceof ConnectionCutError && err.reason === 'banned') log.info('peer banned')
 * ```
 */
export class ConnectionCutError extends DetrError {
  readonly reason: 'banned' | 'unauthorized';

  constructor(reason: 'banned' | 'unauthorized') {
    super(
      reason === 'banned' ? 'The peer was banned' : 'The peer is no longer authorized',
      'CONNECTION_CUT',
    );
    this.name = 'ConnectionCutError';
    this.reason = reason;
  }
}

/**
 * The reason dpeers gives when a pruned connection did not close gracefully in time.
 *
 * @example
 * ```ts
 * if (err instanceof ConnectionPrunedError) metrics.pruned.inc()
 * ```
 */
export class ConnectionPrunedError extends DetrError {
  constructor() {
    super('The connection was pruned to stay within the connection limit', 'CONNECTION_PRUNED');
    this.name = 'ConnectionPrunedError';
  }
}
