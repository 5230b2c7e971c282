// The serving side: one stream per request; the request is read with a size bound, dispatched to
// its handler within the global and per-requester concurrency limits and its time limit, and
// answered with a status. The two internal services are the relay (`detr.forward`) and the target
// side of a forwarded request (`detr.forwarded`).
import {
  AbortError,
  combineSignals,
  TimeoutError,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
} from '@detr/interface';
import {
  MessageType,
  ServiceResponse,
  ServiceStatus,
  type ServiceRequest,
  type ServiceResponseInit,
} from '@detr/protocol';
import { PeerUnreachableError, RequestRefusedError } from '../errors.js';
import { readFirst, writeFrame } from '../framing.js';
import type { Identity } from '../identity.js';
import { isHostile } from '../messaging.js';
import type { ConnectionManager } from '../ports.js';
import { BadRequestError, errorResponse, exchange } from './exchange.js';
import { openForward, ReplayCache } from './forward.js';
import {
  FORWARD_SERVICE,
  FORWARDED_SERVICE,
  type ServiceHandler,
  type ServicesOptions,
  type ServicesStats,
} from './types.js';

/** Room for the envelope around a forwarded payload. */
export const FORWARD_OVERHEAD_BYTES = 1024;
/** Longest time a handler may be given. */
const MAX_HANDLER_MS = 3_600_000;

/** What the server works with. */
export interface ServerContext {
  readonly o: ServicesOptions;
  readonly connections: ConnectionManager;
  readonly peerIdFromBytes: (b: Uint8Array) => PeerId;
  readonly identity: Identity | undefined;
  readonly reporter: PeerReporter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: ServicesStats;
  readonly handlers: ReadonlyMap<string, ServiceHandler>;
  /** Aborts when services stop. */
  shutdown(): AbortSignal;
}

const isInternal = (service: string): boolean =>
  service === FORWARD_SERVICE || service === FORWARDED_SERVICE;

/** Serves inbound requests. */
export class ServiceServer {
  private active = 0;
  private readonly perPeer = new Map<string, number>();
  private readonly forwarding = new Map<string, number>();
  private readonly replay: ReplayCache;

  constructor(private readonly x: ServerContext) {
    this.replay = new ReplayCache(x.o.replayCacheMax);
  }

  async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer;
    stream.on('error', () => {});
    let req: ServiceRequest | undefined;
    try {
      const max = this.x.o.maxMessageBytes + FORWARD_OVERHEAD_BYTES + 1024;
      const m = await readFirst(stream, [MessageType.ServiceRequest], max);
      if (m?.type === MessageType.ServiceRequest) req = m.message;
    } catch (err) {
      if (isHostile(err)) this.invalid(peer);
      stream.reset();
      return;
    }
    if (req === undefined) {
      stream.destroy();
      return;
    }
    // The caller closing its side aborts the handler.
    const gone = new AbortController();
    stream.once('close', () => gone.abort(new AbortError('caller went away')));
    const res = await this.serve(req, peer, gone.signal);
    try {
      await writeFrame(stream, MessageType.ServiceResponse, { requestId: req.requestId, ...res });
      stream.end();
    } catch {
      stream.destroy();
    }
  }

  private invalid(
    peer: PeerId,
    reason: 'invalid-message' | 'protocol-violation' = 'invalid-message',
  ): void {
    this.x.counters.invalid++;
    this.x.reporter.penalize(peer, reason);
  }

  private async serve(
    req: ServiceRequest,
    peer: PeerId,
    gone: AbortSignal,
  ): Promise<ServiceResponseInit> {
    if (req.service === FORWARD_SERVICE) {
      if (this.x.o.relay === undefined) return refused('not a relay');
      const relay: ServiceHandler = (d, ctx) => this.relay(d, ctx.from, ctx.signal, req);
      return this.run(req, peer, undefined, relay, gone);
    }
    if (req.service === FORWARDED_SERVICE) return this.serveForwarded(req, peer, gone);
    return this.dispatch(req, peer, undefined, gone);
  }

  /** Target side of a forwarded request: verify, then serve as coming from the signer. */
  private async serveForwarded(
    req: ServiceRequest,
    relay: PeerId,
    gone: AbortSignal,
  ): Promise<ServiceResponseInit> {
    const self = this.x.identity?.peerId;
    if (!this.x.o.acceptForwarded || self === undefined) return refused('forwarding not accepted');
    let opened;
    try {
      opened = openForward(req.payload, this.x.peerIdFromBytes);
      if (!opened.target.equals(self)) throw new RangeError('forwarded to the wrong target');
    } catch (err) {
      // An honest relay checks the signature and the target before passing a request on.
      this.invalid(relay);
      return { status: ServiceStatus.SERVICE_STATUS_BAD_REQUEST, error: String(err).slice(0, 200) };
    }
    const { forward, requester, replayKey } = opened;
    if (isInternal(forward.request.service)) return refused('no nested forwarding');
    const now = this.x.clock.now();
    const maxAge = this.x.o.forwardMaxAgeMs;
    if (Math.abs(now - forward.issuedAtMs) > maxAge) return refused('stale forwarded request');
    const fresh = this.replay.add(replayKey, now + 2 * maxAge, now);
    if (fresh === 'replay') return refused('replayed forwarded request');
    if (fresh === 'full') return refused('busy');
    // The shorter of the requester's and the relay's time limits (0 = none given).
    const limits = [req.timeoutMs, forward.request.timeoutMs].filter((t) => t > 0);
    const inner: ServiceRequest = {
      ...forward.request,
      timeoutMs: limits.length > 0 ? Math.min(...limits) : 0,
    };
    return this.dispatch(inner, requester, relay, gone);
  }

  private dispatch(
    req: ServiceRequest,
    from: PeerId,
    via: PeerId | undefined,
    gone: AbortSignal,
  ): Promise<ServiceResponseInit> | ServiceResponseInit {
    const handler = isInternal(req.service) ? undefined : this.x.handlers.get(req.service);
    if (handler === undefined) return { status: ServiceStatus.SERVICE_STATUS_UNKNOWN_SERVICE };
    return this.run(req, from, via, handler, gone);
  }

  /** Runs `handler` within the limits; every outcome becomes a response. */
  private async run(
    req: ServiceRequest,
    from: PeerId,
    via: PeerId | undefined,
    handler: ServiceHandler,
    gone: AbortSignal,
  ): Promise<ServiceResponseInit> {
    const { o, counters } = this.x;
    if (req.payload.length > o.maxMessageBytes + (via === undefined ? FORWARD_OVERHEAD_BYTES : 0))
      return { status: ServiceStatus.SERVICE_STATUS_TOO_LARGE };
    const key = from.toString();
    const mine = this.perPeer.get(key) ?? 0;
    if (this.active >= o.maxConcurrent || mine >= o.maxConcurrentPerPeer) {
      counters.refused++;
      return { status: ServiceStatus.SERVICE_STATUS_REFUSED, error: 'busy' };
    }
    this.active++;
    this.perPeer.set(key, mine + 1);
    const limit = Math.min(req.timeoutMs > 0 ? req.timeoutMs : o.requestTimeoutMs, MAX_HANDLER_MS);
    const ac = new AbortController();
    const timer = this.x.clock.setTimeout(() => ac.abort(new TimeoutError()), limit);
    const signal = combineSignals(ac.signal, gone, this.x.shutdown());
    try {
      const out = await Promise.race([
        Promise.resolve().then(() =>
          handler(req.payload, { from, service: req.service, signal, ...(via ? { via } : {}) }),
        ),
        new Promise<never>((_, reject) =>
          signal.addEventListener(
            'abort',
            () => reject(signal.reason instanceof Error ? signal.reason : new AbortError()),
            { once: true },
          ),
        ),
      ]);
      if (!(out instanceof Uint8Array))
        throw new TypeError('a service handler must return a Uint8Array');
      if (out.length > o.maxMessageBytes + FORWARD_OVERHEAD_BYTES)
        return { status: ServiceStatus.SERVICE_STATUS_TOO_LARGE };
      counters.served++;
      return { status: ServiceStatus.SERVICE_STATUS_OK, payload: out };
    } catch (err) {
      if (err instanceof RequestRefusedError) counters.refused++;
      if (err instanceof AbortError) return { status: ServiceStatus.SERVICE_STATUS_TIMEOUT };
      return errorResponse(err);
    } finally {
      timer.cancel();
      ac.abort();
      this.active--;
      const left = (this.perPeer.get(key) ?? 1) - 1;
      if (left > 0) this.perPeer.set(key, left);
      else this.perPeer.delete(key);
    }
  }

  /** Relay side: checks a requester's signed request and passes it to its target. */
  private async relay(
    data: Uint8Array,
    from: PeerId,
    signal: AbortSignal,
    req: ServiceRequest,
  ): Promise<Uint8Array> {
    let opened;
    try {
      opened = openForward(data, this.x.peerIdFromBytes);
    } catch (err) {
      this.invalid(from);
      throw new BadRequestError(String(err));
    }
    const { requester, target, forward } = opened;
    // Only the requester itself may ask: a forwarded request is never forwarded again.
    if (!requester.equals(from)) {
      this.invalid(from, 'protocol-violation');
      throw new BadRequestError('the signer is not the peer asking');
    }
    if (isInternal(forward.request.service)) throw new RequestRefusedError('no nested forwarding');
    if (this.x.identity?.peerId.equals(target) === true)
      throw new BadRequestError('forward to the relay itself');
    if (this.x.o.relay?.(from, target) !== true)
      throw new RequestRefusedError('forwarding not allowed');
    const conn = this.x.connections.connections(target)[0];
    if (conn === undefined) throw new PeerUnreachableError(target.toString());
    const key = from.toString();
    const n = this.forwarding.get(key) ?? 0;
    if (n >= this.x.o.maxForwardsPerPeer) throw new RequestRefusedError('busy');
    this.forwarding.set(key, n + 1);
    this.x.counters.relayed++;
    try {
      const res = await exchange(
        conn,
        FORWARDED_SERVICE,
        data,
        req.timeoutMs || this.x.o.requestTimeoutMs,
        signal,
        this.x.reporter,
        this.x.o.maxMessageBytes + FORWARD_OVERHEAD_BYTES + 1024,
      );
      return ServiceResponse.encode(res);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new PeerUnreachableError(target.toString(), { cause: err });
    } finally {
      const left = (this.forwarding.get(key) ?? 1) - 1;
      if (left > 0) this.forwarding.set(key, left);
      else this.forwarding.delete(key);
    }
  }
}

function refused(error: string): ServiceResponseInit {
  return { status: ServiceStatus.SERVICE_STATUS_REFUSED, error };
}
