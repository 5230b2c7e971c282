import { DetrError } from '@detr/interface';

/**
 * A STUN transaction failed: no answer from any server in time, or only malformed answers.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof StunError) status.mapping = 'unknown' }
 * ```
 */
export class StunError extends DetrError {
  constructor(message = 'STUN binding failed', options?: { cause?: unknown }) {
    super(message, 'STUN_FAILED', options);
    this.name = 'StunError';
  }
}

/**
 * No way to deliver signaling to the peer: no connection to it or to a mutual peer, no relay
 * address, no DHT mailbox, or every one of them failed.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof NoSignalingRouteError) tryLater() }
 * ```
 */
export class NoSignalingRouteError extends DetrError {
  constructor(message = 'No signaling route to the peer', options?: { cause?: unknown }) {
    super(message, 'NO_SIGNALING_ROUTE', options);
    this.name = 'NoSignalingRouteError';
  }
}

/**
 * The remote refused or abandoned a WebRTC negotiation (it sent a close, or its answer was
 * unusable).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof SignalingError) log.debug(err.message) }
 * ```
 */
export class SignalingError extends DetrError {
  constructor(message = 'Signaling failed', options?: { cause?: unknown }) {
    super(message, 'SIGNALING_FAILED', options);
    this.name = 'SignalingError';
  }
}

/**
 * The remote broke the signaling protocol: an oversized or malformed SDP, a description whose
 * fingerprint does not match, an answer where an offer belongs, too many or oversized candidates.
 * The negotiation is dropped and, where the sender is authenticated (a connection to it, or a
 * signed DHT record), the sender is penalized.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof SignalingViolationError) reporter.penalize(peer, 'protocol-violation') }
 * ```
 */
export class SignalingViolationError extends SignalingError {
  constructor(message = 'Signaling protocol violation', options?: { cause?: unknown }) {
    super(message, options);
    (this as { code: string }).code = 'SIGNALING_VIOLATION';
    this.name = 'SignalingViolationError';
  }
}

/**
 * ICE found no working candidate pair in any stage of the strategy (direct, then TURN relay).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof IceFailedError) useCircuitRelay() }
 * ```
 */
export class IceFailedError extends DetrError {
  constructor(message = 'ICE failed', options?: { cause?: unknown }) {
    super(message, 'ICE_FAILED', options);
    this.name = 'IceFailedError';
  }
}

/**
 * The data channel failed or closed while it was needed, or the remote sent more than the
 * receive bound allows (it ignored flow control).
 *
 * @example
 * ```ts
 * connection.onClose((err) => { if (err instanceof DataChannelError) reconnect() })
 * ```
 */
export class DataChannelError extends DetrError {
  constructor(message = 'Data channel failed', options?: { cause?: unknown }) {
    super(message, 'DATA_CHANNEL_FAILED', options);
    this.name = 'DataChannelError';
  }
}

/**
 * A relay refused a reservation or a circuit (`status` is the relay's answer, e.g.
 * `RESOURCE_LIMIT_EXCEEDED`, `NO_RESERVATION`).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof RelayRefusedError && err.status === 'NO_RESERVATION') reReserve() }
 * ```
 */
export class RelayRefusedError extends DetrError {
  constructor(
    readonly status: string,
    message = `Relay refused: ${status}`,
    options?: { cause?: unknown },
  ) {
    super(message, 'RELAY_REFUSED', options);
    this.name = 'RelayRefusedError';
  }
}

/**
 * A relayed circuit was cut because it reached a limit of the relay (bytes or duration).
 *
 * @example
 * ```ts
 * stream.on('error', (err) => { if (err instanceof RelayLimitError) upgradeOrRedial() })
 * ```
 */
export class RelayLimitError extends DetrError {
  constructor(message = 'Relay limit reached', options?: { cause?: unknown }) {
    super(message, 'RELAY_LIMIT', options);
    this.name = 'RelayLimitError';
  }
}
