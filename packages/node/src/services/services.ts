// Services: `handle(service, handler)` and `request(peer, service, data)` over /detr/svc/1, one
// stream per request; with no direct route, through a relay (forward.ts). This module is the
// caller's side and the composition; server.ts serves, exchange.ts runs one exchange.
import {
  AbortError,
  ClosedError,
  combineSignals,
  noopLogger,
  noopPeerReporter,
  systemClock,
  TimeoutError,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  shutdownController,
} from '@detr/interface';
import { ServiceResponse, ServiceStatus } from '@detr/protocol';
import { MessageTooLargeError, PeerUnreachableError, RemoteProtocolError } from '../errors.js';
import { exchange, statusError } from './exchange.js';
import { signForward } from './forward.js';
import { FORWARD_OVERHEAD_BYTES, ServiceServer } from './server.js';
import {
  FORWARD_SERVICE,
  FORWARDED_SERVICE,
  resolveServicesInit,
  SVC_PROTOCOL,
  type RequestOptions,
  type ServiceHandler,
  type Services,
  type ServicesComponents,
  type ServicesInit,
  type ServicesOptions,
  type ServicesStats,
} from './types.js';

class ServicesImpl implements Services {
  private readonly handlers = new Map<string, ServiceHandler>();
  private readonly log: Logger;
  private readonly reporter: PeerReporter;
  private readonly o: ServicesOptions;
  private readonly server: ServiceServer;
  private shutdown = shutdownController();
  private running = false;
  private readonly counters: ServicesStats = {
    requests: 0,
    served: 0,
    refused: 0,
    forwarded: 0,
    relayed: 0,
    invalid: 0,
  };

  constructor(
    private readonly c: ServicesComponents,
    init: ServicesInit,
  ) {
    this.log = (c.logger ?? noopLogger).child({ component: 'node:services' });
    this.reporter = c.peerReporter ?? noopPeerReporter;
    this.o = resolveServicesInit(init);
    this.server = new ServiceServer({
      o: this.o,
      connections: c.connections,
      peerIdFromBytes: c.peerIdFromBytes,
      identity: c.identity,
      reporter: this.reporter,
      clock: c.clock ?? systemClock,
      log: this.log,
      counters: this.counters,
      handlers: this.handlers,
      shutdown: () => this.shutdown.signal,
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.shutdown = shutdownController();
    // Every in-flight call listens on it (through AbortSignal.any): no listener limit.
    this.c.connections.handle(SVC_PROTOCOL, (s, conn) => this.server.onInbound(s, conn));
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.shutdown.abort(new AbortError('services stopped'));
    this.c.connections.unhandle(SVC_PROTOCOL);
  }

  handle(service: string, handler: ServiceHandler): void {
    if (typeof service !== 'string' || service.length === 0 || Buffer.byteLength(service) > 128) {
      throw new TypeError('service names have 1–128 bytes');
    }
    if (service === FORWARD_SERVICE || service === FORWARDED_SERVICE) {
      throw new TypeError(`${service} is reserved`);
    }
    if (typeof handler !== 'function') throw new TypeError('a handler is a function');
    this.handlers.set(service, handler);
  }

  unhandle(service: string): void {
    this.handlers.delete(service);
  }

  async request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    if (!this.running) throw new ClosedError('services not started');
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (typeof service !== 'string' || service.length === 0 || Buffer.byteLength(service) > 128)
      throw new TypeError('service names have 1–128 bytes');
    if (data.length > this.o.maxMessageBytes)
      throw new MessageTooLargeError(data.length, this.o.maxMessageBytes);
    const timeoutMs = options.timeoutMs ?? this.o.requestTimeoutMs;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
      throw new RangeError('timeoutMs must be > 0');
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new TimeoutError(`request ${service} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    const signal = combineSignals(options.signal, timeout.signal, this.shutdown.signal);
    this.counters.requests++;
    try {
      let conn: Connection | undefined;
      // With relays as the fallback, a dial that hangs (a peer behind a NAT) must not eat the
      // whole time budget: it gets at most directDialTimeoutMs and half the budget. (A timer we
      // hold, not AbortSignal.timeout: a combined signal of that one could be collected early.)
      const dialLimit = new AbortController();
      const dialTimer =
        options.relay === false
          ? undefined
          : setTimeout(
              () => dialLimit.abort(new TimeoutError('direct dial took too long')),
              Math.min(this.o.directDialTimeoutMs, timeoutMs / 2),
            );
      dialTimer?.unref();
      try {
        conn = await this.c.connections.dial(peer, {
          signal: combineSignals(signal, dialLimit.signal),
        });
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (options.relay === false)
          throw new PeerUnreachableError(peer.toString(), { cause: err });
      } finally {
        clearTimeout(dialTimer);
      }
      if (conn !== undefined) {
        const res = await this.exchange(conn, service, data, timeoutMs, signal);
        if (res.status !== ServiceStatus.SERVICE_STATUS_OK) throw statusError(res, service);
        return res.payload;
      }
      return await this.viaRelay(peer, service, data, timeoutMs, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private exchange(
    conn: Connection,
    service: string,
    data: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ServiceResponse> {
    const max = this.o.maxMessageBytes + 2 * FORWARD_OVERHEAD_BYTES;
    return exchange(conn, service, data, timeoutMs, signal, this.reporter, max);
  }

  /** No direct route: a signed request through up to maxRelayAttempts connected peers. */
  private async viaRelay(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const identity = this.c.identity;
    if (identity === undefined) {
      throw new PeerUnreachableError(peer.toString(), {
        cause: new Error('forwarding needs an identity to sign with'),
      });
    }
    // One signed request for every relay: if two of them deliver it, the target serves it once.
    const signed = signForward(
      identity,
      peer,
      { service, timeoutMs, payload: data },
      (this.c.clock ?? systemClock).now(),
    );
    const relays = this.c.connections
      .connections()
      .filter((c) => !c.remotePeer.equals(peer))
      .slice(0, this.o.maxRelayAttempts);
    let last: unknown = undefined;
    for (const relay of relays) {
      let inner: ServiceResponse;
      try {
        const res = await this.exchange(relay, FORWARD_SERVICE, signed, timeoutMs, signal);
        if (res.status !== ServiceStatus.SERVICE_STATUS_OK) {
          // This relay could not (or would not) deliver it: try the next.
          last = statusError(res, FORWARD_SERVICE);
          continue;
        }
        inner = ServiceResponse.decode(res.payload);
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (!(
          err instanceof ClosedError ||
          err instanceof RemoteProtocolError ||
          isDecodeError(err)
        ))
          throw err;
        last = err;
        continue;
      }
      this.counters.forwarded++;
      if (inner.status !== ServiceStatus.SERVICE_STATUS_OK) throw statusError(inner, service);
      return inner.payload;
    }
    this.log.debug({ peer: peer.toString(), err: String(last) }, 'no route');
    throw new PeerUnreachableError(peer.toString(), { cause: last });
  }

  stats(): ServicesStats {
    return { ...this.counters };
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortError();
}

function isDecodeError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ProtocolError' || err instanceof RangeError);
}

/**
 * Creates the services module: `handle(service, handler)` and `request(peer, service, data)`,
 * with forwarding through relays when there is no direct route.
 *
 * @throws {RangeError} for a non-positive limit in `init`
 * @example
 * ```ts
 * const services = createServices({ connections, peerIdFromBytes, identity })
 * services.start()
 * services.handle('echo', (data, { from }) => data)
 * const reply = await services.request(peer, 'echo', bytes, { timeoutMs: 5000 })
 * ```
 */
export function createServices(components: ServicesComponents, init: ServicesInit = {}): Services {
  return new ServicesImpl(components, init);
}
