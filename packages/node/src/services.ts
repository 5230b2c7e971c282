// Services (/detr/svc/1): request/response by service name, one stream per request. A request
// to a peer with no direct route is forwarded by a connected peer (the `detr.forward` service)
// that has a connection to the target.
import { setMaxListeners } from 'node:events';
import {
  AbortError,
  ClosedError,
  combineSignals,
  noopLogger,
  noopPeerReporter,
  TimeoutError,
  type AbortOptions,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
} from '@detr/interface';
import {
  MessageType,
  ServiceRequest,
  ServiceResponse,
  ServiceStatus,
  type ServiceResponseInit,
} from '@detr/protocol';
import {
  HandlerError,
  MessageTooLargeError,
  PeerUnreachableError,
  RemoteProtocolError,
  RequestRefusedError,
  UnknownServiceError,
} from './errors.js';
import { readFirst, readMessages, writeFrame } from './framing.js';
import { isHostile } from './messaging.js';
import type { ConnectionManager } from './ports.js';

export const SVC_PROTOCOL = '/detr/svc/1';
/** The internal service a relay runs to forward requests. */
export const FORWARD_SERVICE = 'detr.forward';

/** What a handler learns about a request. */
export interface RequestContext {
  from: PeerId;
  service: string;
  /** Aborts when the caller's time limit passes or the node stops. */
  signal: AbortSignal;
}

/** Answers a request; throw {@link RequestRefusedError} to refuse. */
export type ServiceHandler = (
  data: Uint8Array,
  ctx: RequestContext,
) => Uint8Array | Promise<Uint8Array>;

export interface RequestOptions extends AbortOptions {
  /** @default config request_timeout_ms */
  timeoutMs?: number;
  /** Try relays when there is no direct route. @default true */
  relay?: boolean;
}

export interface ServicesComponents {
  connections: ConnectionManager;
  peerReporter?: PeerReporter;
  logger?: Logger;
  peerIdFromBytes: (bytes: Uint8Array) => PeerId;
}

export interface ServicesInit {
  /** @default 10000 */
  requestTimeoutMs?: number;
  /** @default 1047552 */
  maxMessageBytes?: number;
  /** Requests handled at once, over all peers. @default 256 */
  maxConcurrent?: number;
  /** Forward requests for other peers. @default true */
  relay?: boolean;
  /** Relays tried per request. @default 3 */
  maxRelayAttempts?: number;
}

export interface ServicesStats {
  requests: number;
  served: number;
  refused: number;
  forwarded: number;
  relayed: number;
  invalid: number;
}

export interface Services {
  start(): void;
  stop(): void;
  handle(service: string, handler: ServiceHandler): void;
  unhandle(service: string): void;
  request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  stats(): ServicesStats;
}

function statusError(res: { status: number; error: string }, service: string): Error {
  switch (res.status) {
    case ServiceStatus.SERVICE_STATUS_UNKNOWN_SERVICE:
      return new UnknownServiceError(service);
    case ServiceStatus.SERVICE_STATUS_TIMEOUT:
      return new TimeoutError(`service ${service} timed out on the remote`);
    case ServiceStatus.SERVICE_STATUS_REFUSED:
      return new RequestRefusedError(res.error || 'request refused');
    case ServiceStatus.SERVICE_STATUS_HANDLER_ERROR:
      return new HandlerError(res.error || 'handler error');
    case ServiceStatus.SERVICE_STATUS_UNREACHABLE:
      return new PeerUnreachableError(res.error || 'target');
    default:
      return new RemoteProtocolError(`service status ${res.status}: ${res.error}`);
  }
}

class ServicesImpl implements Services {
  private readonly handlers = new Map<string, ServiceHandler>();
  private readonly log: Logger;
  private readonly reporter: PeerReporter;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxConcurrent: number;
  private readonly relayTries: number;
  private active = 0;
  private nextId = 1;
  private shutdown = new AbortController();
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
    private readonly init: ServicesInit,
  ) {
    this.log = (c.logger ?? noopLogger).child({ component: 'node:services' });
    this.reporter = c.peerReporter ?? noopPeerReporter;
    this.timeoutMs = init.requestTimeoutMs ?? 10_000;
    this.maxBytes = init.maxMessageBytes ?? 1024 * 1024 - 1024;
    this.maxConcurrent = init.maxConcurrent ?? 256;
    this.relayTries = init.maxRelayAttempts ?? 3;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.shutdown = new AbortController();
    // Every in-flight call listens on it (through AbortSignal.any): no listener limit.
    setMaxListeners(0, this.shutdown.signal);
    this.c.connections.handle(SVC_PROTOCOL, (s, conn) => this.onInbound(s, conn));
    if (this.init.relay !== false)
      this.handlers.set(FORWARD_SERVICE, (d, ctx) => this.forward(d, ctx));
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
    if (service === FORWARD_SERVICE) throw new TypeError(`${FORWARD_SERVICE} is reserved`);
    this.handlers.set(service, handler);
  }

  unhandle(service: string): void {
    if (service !== FORWARD_SERVICE) this.handlers.delete(service);
  }

  private async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const from = conn.remotePeer;
    stream.on('error', () => {});
    let req: ServiceRequest | undefined;
    try {
      const m = await readFirst(stream, [MessageType.ServiceRequest]);
      if (m?.type === MessageType.ServiceRequest) req = m.message;
    } catch (err) {
      if (isHostile(err)) {
        this.counters.invalid++;
        this.reporter.penalize(from, 'invalid-message');
      }
      stream.reset();
      return;
    }
    if (req === undefined) {
      stream.destroy();
      return;
    }
    const respond = async (r: ServiceResponseInit): Promise<void> => {
      try {
        await writeFrame(stream, MessageType.ServiceResponse, { requestId: req.requestId, ...r });
        stream.end();
      } catch {
        stream.destroy();
      }
    };
    const handler = this.handlers.get(req.service);
    if (handler === undefined) {
      await respond({ status: ServiceStatus.SERVICE_STATUS_UNKNOWN_SERVICE });
      return;
    }
    if (this.active >= this.maxConcurrent) {
      this.counters.refused++;
      await respond({ status: ServiceStatus.SERVICE_STATUS_REFUSED, error: 'busy' });
      return;
    }
    this.active++;
    const limit = Math.min(req.timeoutMs > 0 ? req.timeoutMs : this.timeoutMs, 3_600_000);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new TimeoutError()), limit);
    timer.unref();
    const signal = combineSignals(ac.signal, this.shutdown.signal);
    stream.once('close', () => ac.abort(new AbortError('caller went away')));
    try {
      const out = await Promise.race([
        Promise.resolve().then(() => handler(req.payload, { from, service: req.service, signal })),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(new TimeoutError()), { once: true }),
        ),
      ]);
      if (!(out instanceof Uint8Array))
        throw new TypeError('a service handler must return a Uint8Array');
      if (out.length > this.maxBytes) {
        await respond({ status: ServiceStatus.SERVICE_STATUS_TOO_LARGE });
        return;
      }
      this.counters.served++;
      await respond({ status: ServiceStatus.SERVICE_STATUS_OK, payload: out });
    } catch (err) {
      if (err instanceof RequestRefusedError) {
        this.counters.refused++;
        await respond({
          status: ServiceStatus.SERVICE_STATUS_REFUSED,
          error: err.message.slice(0, 512),
        });
      } else if (err instanceof TimeoutError) {
        await respond({ status: ServiceStatus.SERVICE_STATUS_TIMEOUT });
      } else if (err instanceof PeerUnreachableError) {
        await respond({
          status: ServiceStatus.SERVICE_STATUS_UNREACHABLE,
          error: err.message.slice(0, 512),
        });
      } else {
        await respond({
          status: ServiceStatus.SERVICE_STATUS_HANDLER_ERROR,
          error: (err instanceof Error ? err.message : String(err)).slice(0, 512),
        });
      }
    } finally {
      clearTimeout(timer);
      this.active--;
    }
  }

  /** Relay side: forwards an inner request to a peer we are connected to. */
  private async forward(data: Uint8Array, ctx: RequestContext): Promise<Uint8Array> {
    if (data.length < 34) throw new RangeError('bad forward request');
    const target = this.c.peerIdFromBytes(data.subarray(0, 33));
    const inner = ServiceRequest.decode(data.subarray(33));
    if (inner.service === FORWARD_SERVICE) throw new RequestRefusedError('no nested forwarding');
    const conn = this.c.connections.connections(target)[0];
    if (conn === undefined) throw new PeerUnreachableError(target.toString());
    this.counters.relayed++;
    const res = await this.exchange(
      conn,
      inner.service,
      inner.payload,
      inner.timeoutMs || this.timeoutMs,
      ctx.signal,
    );
    return ServiceResponse.encode(res);
  }

  private async exchange(
    conn: Connection,
    service: string,
    data: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ServiceResponse> {
    const requestId = this.nextId;
    this.nextId = (this.nextId % 0xffff_fffe) + 1;
    const stream = await conn.newStream(SVC_PROTOCOL, { signal });
    stream.on('error', () => {});
    const onAbort = (): void => {
      stream.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await writeFrame(stream, MessageType.ServiceRequest, {
        requestId,
        service,
        timeoutMs,
        payload: data,
      });
      stream.end();
      for await (const m of readMessages(stream, [MessageType.ServiceResponse])) {
        if (m.type !== MessageType.ServiceResponse || m.message.requestId !== requestId) {
          throw new RemoteProtocolError('response does not match the request');
        }
        return m.message;
      }
      throw new ClosedError('stream closed without a response');
    } catch (err) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError();
      if (isHostile(err)) this.reporter.penalize(conn.remotePeer, 'invalid-message');
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  async request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    if (!this.running) throw new ClosedError('node not started');
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (data.length > this.maxBytes) throw new MessageTooLargeError(data.length, this.maxBytes);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
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
      try {
        conn = await this.c.connections.dial(peer, { signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError();
        if (options.relay === false)
          throw new PeerUnreachableError(peer.toString(), { cause: err });
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

  private async viaRelay(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const inner = ServiceRequest.encode({ requestId: 0, service, timeoutMs, payload: data });
    const wrapped = new Uint8Array(33 + inner.length);
    wrapped.set(peer.bytes, 0);
    wrapped.set(inner, 33);
    const relays = this.c.connections
      .connections()
      .filter((c) => !c.remotePeer.equals(peer))
      .slice(0, this.relayTries);
    let last: unknown = undefined;
    for (const relay of relays) {
      try {
        const res = await this.exchange(relay, FORWARD_SERVICE, wrapped, timeoutMs, signal);
        if (res.status !== ServiceStatus.SERVICE_STATUS_OK) {
          last = statusError(res, FORWARD_SERVICE);
          continue;
        }
        this.counters.forwarded++;
        const innerRes = ServiceResponse.decode(res.payload);
        if (innerRes.status !== ServiceStatus.SERVICE_STATUS_OK)
          throw statusError(innerRes, service);
        return innerRes.payload;
      } catch (err) {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError();
        if (
          !(err instanceof PeerUnreachableError) &&
          !(err instanceof ClosedError) &&
          !(err instanceof RemoteProtocolError)
        )
          throw err;
        last = err;
      }
    }
    this.log.debug({ peer: peer.toString(), err: String(last) }, 'no route');
    throw new PeerUnreachableError(peer.toString(), { cause: last });
  }

  stats(): ServicesStats {
    return { ...this.counters };
  }
}

/**
 * Creates the services module: `handle(service, handler)` and `request(peer, service, data)`.
 *
 * @example
 * ```ts
 * const services = createServices({ connections, peerIdFromBytes })
 * services.start()
 * services.handle('echo', (data) => data)
 * const reply = await services.request(peer, 'echo', bytes, { timeoutMs: 5000 })
 * ```
 */
export function createServices(components: ServicesComponents, init: ServicesInit = {}): Services {
  return new ServicesImpl(components, init);
}
