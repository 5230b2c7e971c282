// The transport compliance suite: every Transport (TCP, QUIC, memory, WebRTC) runs these cases.
import { afterEach, describe } from '@jest/globals';
import type { Connection, Stream } from '@detr/interface';
import { lifecycleCases } from './cases-lifecycle.js';
import { streamCases } from './cases-streams.js';
import type { SuiteContext } from './context.js';
import type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
  TransportComplianceOptions,
} from './types.js';

/** The names of the cases, in order (the suite's own tests check it stays complete). */
export const TRANSPORT_CASES = [
  'echo',
  'unknown protocol',
  '100 concurrent streams',
  'half-close',
  'unidirectional stream',
  'bulk through one stream with a slow reader',
  'stream limit enforced',
  'remote reset',
  'abort mid-dial',
  'close during in-flight writes (graceful)',
  'close during in-flight writes (abort)',
  'idle timeout',
  'keepalive RTT reported',
  'malformed frame',
  'peer without token refused',
  'unexpected peer refused',
] as const;

/**
 * Defines the transport compliance cases (jest `describe`/`it`) for one implementation.
 *
 * @example
 * ```ts
 * runTransportCompliance({ name: 'tcp', endpoint, listenAddress, silentListener, injectMalformed })
 * ```
 */
export function runTransportCompliance(
  factory: TransportComplianceFactory,
  options: TransportComplianceOptions = {},
): void {
  const cleanups: Array<() => Promise<void>> = [];
  const endpoint = async (o?: ComplianceEndpointOptions): Promise<ComplianceEndpoint> => {
    const e = await factory.endpoint(o);
    cleanups.push(() => e.transport.close());
    return e;
  };
  const ctx: SuiteContext = {
    factory,
    bulkBytes: options.bulkBytes ?? 100 * 1024 * 1024,
    maxGrowth: options.maxBulkMemoryGrowthBytes ?? 64 * 1024 * 1024,
    timeout: options.caseTimeoutMs ?? 60_000,
    cleanups,
    endpoint,
    connect: async (serverOptions, clientOptions, setup) => {
      const server = await endpoint(serverOptions);
      setup?.(server);
      const client = await endpoint(clientOptions);
      let onAccept: (c: Connection) => void = () => {};
      const accepted = new Promise<Connection>((resolve) => (onAccept = resolve));
      const listener = await server.transport.listen(factory.listenAddress(), (c) => onAccept(c));
      cleanups.push(() => listener.close());
      const address = listener.addresses()[0];
      if (address === undefined) throw new Error('the listener reports no address');
      const conn = await client.transport.dial(address, { expectedPeer: server.peer });
      return { server, client, conn, accepted };
    },
    echo: (s: Stream): void => void s.pipe(s),
    got: <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`missing: ${what}`);
      return value;
    },
  };

  describe(`transport compliance: ${factory.name}`, () => {
    afterEach(async () => {
      const list = cleanups.splice(0).reverse();
      for (const c of list) await c().catch(() => {});
    });
    streamCases(ctx);
    lifecycleCases(ctx);
  });
}
