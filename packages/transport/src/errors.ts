import { DetrError } from '@detr/interface';

/**
 * The connection gate (dpeers) refused a connection: before dialing, on arrival, or once the
 * remote's identity was known.
 *
 * @example
 * ```ts
 * try { await transport.dial(addr) } catch (err) { if (err instanceof GateRefusedError) skip(addr) }
 * ```
 */
export class GateRefusedError extends DetrError {
  /** The gate step that refused. */
  readonly step: 'dial' | 'inbound' | 'peer';
  constructor(step: 'dial' | 'inbound' | 'peer') {
    super(`The connection gate refused the connection (${step})`, 'GATE_REFUSED');
    this.name = 'GateRefusedError';
    this.step = step;
  }
}

/**
 * The remote did not complete the handshake (or the network check on QUIC) in time.
 *
 * @example
 * ```ts
 * if (err instanceof HandshakeTimeoutError) penalize(peer, 'timeout')
 * ```
 */
export class HandshakeTimeoutError extends DetrError {
  constructor(timeoutMs: number) {
    super(`The handshake did not complete within ${timeoutMs} ms`, 'HANDSHAKE_TIMEOUT');
    this.name = 'HandshakeTimeoutError';
  }
}

/**
 * A transport cannot dial this address (wrong transport, unspecified host, port 0).
 *
 * @example
 * ```ts
 * if (err instanceof UnsupportedAddressError) tryNext()
 * ```
 */
export class UnsupportedAddressError extends DetrError {
  constructor(address: string, transport: string) {
    super(`The ${transport} transport cannot dial ${address}`, 'UNSUPPORTED_ADDRESS');
    this.name = 'UnsupportedAddressError';
  }
}

/**
 * The quinn binding inside `@chainsafe/libp2p-quic` could not be loaded, or its API is not the
 * one this package was written for (a different version was installed).
 *
 * @example
 * ```ts
 * try { createQuicTransport(c, i) } catch (err) { if (err instanceof QuicBindingError) useTcpOnly() }
 * ```
 */
export class QuicBindingError extends DetrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'QUIC_BINDING', options);
    this.name = 'QuicBindingError';
  }
}

/**
 * The QUIC peer authenticated with another identity than the one dialed, or with a certificate
 * whose key is not an Ed25519 detr identity.
 *
 * @example
 * ```ts
 * if (err instanceof QuicIdentityError) penalize(expected, 'handshake-failed')
 * ```
 */
export class QuicIdentityError extends DetrError {
  constructor(message: string) {
    super(message, 'QUIC_IDENTITY');
    this.name = 'QuicIdentityError';
  }
}

/**
 * The transport could not reach the address (connection refused, no route, no listener).
 *
 * @example
 * ```ts
 * if (err instanceof DialFailedError) tryNextAddress()
 * ```
 */
export class DialFailedError extends DetrError {
  constructor(address: string, options?: { cause?: unknown }) {
    super(`Could not connect to ${address}`, 'DIAL_FAILED', options);
    this.name = 'DialFailedError';
  }
}
