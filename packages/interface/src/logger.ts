/** A log method: a message, or structured fields and an optional message (pino's order). */
export interface LogFn {
  (msg: string): void;
  (fields: Record<string, unknown>, msg?: string): void;
}

/**
 * The logger every package takes through its components. A `pino` logger satisfies it.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose every line carries `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/**
 * A logger that discards everything; the default when none is injected.
 *
 * @example
 * ```ts
 * const log = components.logger ?? noopLogger
 * ```
 */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};
