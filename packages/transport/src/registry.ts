// A mutable StreamRegistry: the transports look handlers up in it, the connection manager (or the
// node) registers them.
import type { StreamHandler, StreamRegistry } from '@detr/interface';
import { checkProtocolName } from './protocol-name.js';

/** A {@link StreamRegistry} that handlers can be added to and removed from. */
export interface MutableStreamRegistry extends StreamRegistry {
  /**
   * Registers the handler of inbound streams of `protocol`, replacing any previous one.
   *
   * @throws {TypeError|RangeError} for a protocol name that is not 1..128 UTF-8 bytes
   */
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** The protocols handled now. */
  protocols(): readonly string[];
}

/**
 * An empty registry.
 *
 * @example
 * ```ts
 * const registry = createStreamRegistry()
 * registry.handle('/detr/echo/1', (stream) => stream.pipe(stream))
 * const tcp = createTcpTransport({ ...components, registry })
 * ```
 */
export function createStreamRegistry(): MutableStreamRegistry {
  const handlers = new Map<string, StreamHandler>();
  return {
    handler: (protocol) => handlers.get(protocol),
    handle(protocol, handler) {
      checkProtocolName(protocol);
      if (typeof handler !== 'function') throw new TypeError('handler must be a function');
      handlers.set(protocol, handler);
    },
    unhandle: (protocol) => void handlers.delete(protocol),
    protocols: () => [...handlers.keys()],
  };
}
