import { DetrError } from '@detr/interface';

/**
 * A configuration file or object is invalid. `key` is the dotted path of the bad option
 * (`fluent.max_queue_messages`), `line` its line in the file when it came from one.
 *
 * @example
 * ```ts
 * try { loadConfigFile(path) } catch (err) {
 *   if (err instanceof ConfigError) console.error(`${err.file}:${err.line}: ${err.key}`)
 * }
 * ```
 */
export class ConfigError extends DetrError {
  readonly key: string;
  readonly line: number | undefined;
  readonly file: string | undefined;
  constructor(key: string, why: string, where: { line?: number; file?: string } = {}) {
    const at =
      where.file !== undefined
        ? ` (${where.file}${where.line !== undefined ? `:${where.line}` : ''})`
        : where.line !== undefined
          ? ` (line ${where.line})`
          : '';
    super(`config ${key}: ${why}${at}`, 'CONFIG_INVALID');
    this.name = 'ConfigError';
    this.key = key;
    this.line = where.line;
    this.file = where.file;
  }
}

/** No service of that name is registered on the remote peer. */
export class UnknownServiceError extends DetrError {
  constructor(service: string) {
    super(`unknown service ${JSON.stringify(service.slice(0, 128))}`, 'UNKNOWN_SERVICE');
    this.name = 'UnknownServiceError';
  }
}

/** The remote peer refused the request (not authorized, overloaded, or rate limited). */
export class RequestRefusedError extends DetrError {
  constructor(message = 'request refused') {
    super(message, 'REQUEST_REFUSED');
    this.name = 'RequestRefusedError';
  }
}

/** The remote handler threw; `message` carries the (truncated) remote error text. */
export class HandlerError extends DetrError {
  constructor(message: string) {
    super(message, 'HANDLER_ERROR');
    this.name = 'HandlerError';
  }
}

/** No route to the peer: no connection could be made, directly or through a relay. */
export class PeerUnreachableError extends DetrError {
  constructor(peer: string, options?: { cause?: unknown }) {
    super(`peer ${peer} is unreachable`, 'PEER_UNREACHABLE', options);
    this.name = 'PeerUnreachableError';
  }
}

/** The remote answered with a protocol-level failure (bad request, too large…). */
export class RemoteProtocolError extends DetrError {
  constructor(message: string) {
    super(message, 'REMOTE_PROTOCOL');
    this.name = 'RemoteProtocolError';
  }
}

/** A message was larger than the configured limit. */
export class MessageTooLargeError extends DetrError {
  constructor(bytes: number, maxBytes: number) {
    super(`message of ${bytes} bytes exceeds ${maxBytes}`, 'MESSAGE_TOO_LARGE');
    this.name = 'MessageTooLargeError';
  }
}

/** The daemon's control API refused or failed a request (CLI side). */
export class ControlApiError extends DetrError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message, 'CONTROL_API');
    this.name = 'ControlApiError';
    this.status = status;
  }
}

/** A network token is invalid, expired, revoked or for another network/peer. */
export class InvalidTokenError extends DetrError {
  constructor(message = 'invalid network token') {
    super(message, 'INVALID_TOKEN');
    this.name = 'InvalidTokenError';
  }
}
