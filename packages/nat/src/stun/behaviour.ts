// NAT behaviour discovery (RFC 5780's tests, reduced to what the connection strategy needs):
// mapping from Binding requests to two servers from one socket, filtering from CHANGE-REQUEST
// tests when the first server supports RFC 5780.
import { networkInterfaces } from 'node:os';
import { StunError } from '../errors.js';
import { openStunSocket, type StunServer } from './client.js';
import type { BindingResponse, Endpoint } from './message.js';

/**
 * How a NAT maps one local endpoint to public ones:
 * - `none`: no NAT (the mapped address is our own);
 * - `endpoint-independent`: one public endpoint for every destination (cone NATs);
 * - `endpoint-dependent`: a new public endpoint per destination (symmetric NATs);
 * - `unknown`: not measurable (no or one STUN server, no answer).
 */
export type MappingBehaviour = 'none' | 'endpoint-independent' | 'endpoint-dependent' | 'unknown';

/**
 * Which inbound packets the NAT or firewall lets through to a mapped endpoint:
 * - `endpoint-independent`: from anyone (full cone, or no filtering at all);
 * - `address-dependent`: from IPs we sent to;
 * - `address-and-port-dependent`: from exact endpoints we sent to;
 * - `unknown`: the server does not support RFC 5780, or no answer.
 */
export type FilteringBehaviour =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';

/** What discovery measured. */
export interface NatBehaviour {
  readonly mapping: MappingBehaviour;
  readonly filtering: FilteringBehaviour;
  /** The public endpoint the first server saw. */
  readonly mapped?: Endpoint;
  /** The public endpoint the second server saw. */
  readonly mapped2?: Endpoint;
}

export interface DiscoverOptions {
  /** Local address to send from. @default '0.0.0.0' */
  bindAddress?: string;
  /** Time for each mapping transaction. @default 2000 */
  timeoutMs?: number;
  /** Time to wait for a filtering answer (its absence is the answer). @default 800 */
  filteringTimeoutMs?: number;
  signal?: AbortSignal;
}

const same = (a: Endpoint | undefined, b: Endpoint | undefined): boolean =>
  a !== undefined && b !== undefined && a.address === b.address && a.port === b.port;

function isLocal(e: Endpoint, local: Endpoint): boolean {
  if (e.port !== local.port) return false;
  if (e.address === local.address) return true;
  if (local.address !== '0.0.0.0' && local.address !== '::') return false;
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((i) => i.address === e.address),
  );
}

/**
 * Measures mapping (Binding requests from one socket to `servers[0]` and to a second server,
 * preferably on another IP address) and, when `servers[0]` supports RFC 5780, filtering.
 *
 * @throws {StunError} when `servers[0]` does not answer at all
 * @throws {AbortError} when `signal` aborts
 * @example
 * ```ts
 * const b = await discoverNatBehaviour([{ host: '203.0.113.10', port: 3478 }, { host: '203.0.113.12', port: 3478 }])
 * b.mapping // 'endpoint-independent'
 * ```
 */
export async function discoverNatBehaviour(
  servers: readonly StunServer[],
  options: DiscoverOptions = {},
): Promise<NatBehaviour> {
  const first = servers[0];
  if (first === undefined) throw new StunError('no STUN server configured');
  const socket = await openStunSocket(options.bindAddress ?? '0.0.0.0');
  try {
    const timeoutMs = options.timeoutMs ?? 2000;
    const ask = (server: StunServer): Promise<BindingResponse | undefined> =>
      socket
        .binding(server, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) })
        .catch((err: unknown) => {
          if (options.signal?.aborted === true) throw err;
          return undefined;
        });
    // A second server on another IP measures mapping as RFC 5780 means it; another port of the
    // same host is the fallback (it tells port-dependent mapping only).
    const second = servers.find((s) => s.host !== first.host) ?? servers[1];
    const [r1, r2] = await Promise.all([ask(first), second ? ask(second) : undefined]);
    const mapped = r1?.success === true ? r1.mapped : undefined;
    if (mapped === undefined)
      throw new StunError(`no STUN answer from ${first.host}:${first.port}`);
    const mapped2 = r2?.success === true ? r2.mapped : undefined;
    let mapping: MappingBehaviour;
    if (isLocal(mapped, socket.local)) mapping = 'none';
    else if (mapped2 === undefined) mapping = 'unknown';
    else mapping = same(mapped, mapped2) ? 'endpoint-independent' : 'endpoint-dependent';

    let filtering: FilteringBehaviour = 'unknown';
    if (r1?.other !== undefined) {
      const filteringTimeoutMs = options.filteringTimeoutMs ?? 800;
      const probe = (change: { ip?: boolean; port?: boolean }): Promise<boolean> =>
        socket
          .binding(first, {
            change,
            timeoutMs: filteringTimeoutMs,
            ...(options.signal ? { signal: options.signal } : {}),
          })
          .then(
            (r) => r.success,
            (err: unknown) => {
              if (options.signal?.aborted === true) throw err;
              return false;
            },
          );
      const [fromOtherIp, fromOtherPort] = await Promise.all([
        probe({ ip: true, port: true }),
        probe({ port: true }),
      ]);
      filtering = fromOtherIp
        ? 'endpoint-independent'
        : fromOtherPort
          ? 'address-dependent'
          : 'address-and-port-dependent';
    }
    return { mapping, filtering, mapped, ...(mapped2 !== undefined ? { mapped2 } : {}) };
  } finally {
    socket.close();
  }
}
