// Public types and options of services (request/response by service name).
import type { AbortOptions, Clock, Logger, PeerId, PeerReporter } from '@detr/interface';
import type { Identity } from '../identity.js';
import type { ConnectionManager } from '../ports.js';

/** The stream protocol of services: one stream per request. */
export const SVC_PROTOCOL = '/detr/svc/1';
/** The internal service a relay runs: forwards a requester-signed request to its target. */
export const FORWARD_SERVICE = 'detr.forward';
/** The internal service a target runs: serves a request a relay forwarded. */
export const FORWARDED_SERVICE = 'detr.forwarded';

/** What a handler learns about a request. */
export interface RequestContext {
  /** The requester, authenticated: the connection's peer, or the signer of a forwarded request. */
  from: PeerId;
  service: string;
  /** The relay a forwarded request came through (undefined for a direct one). */
  via?: PeerId;
  /** Aborts when the caller's time limit passes, the caller goes away or the node stops. */
  signal: AbortSignal;
}

/**
 * Answers a request. Throw {@link RequestRefusedError} to refuse it; any other throw reaches the
 * caller as a `HandlerError` with the message.
 */
export type ServiceHandler = (
  data: Uint8Array,
  ctx: RequestContext,
) => Uint8Array | Promise<Uint8Array>;

/** Options of one request. */
export interface RequestOptions extends AbortOptions {
  /** Time limit of the whole request (dial, relay, handler). @default init.requestTimeoutMs */
  timeoutMs?: number;
  /** Try relays when there is no direct route. @default true */
  relay?: boolean;
}

/** Decides whether this node, as a relay, forwards a request of `requester` to `target`. */
export type ForwardPolicy = (requester: PeerId, target: PeerId) => boolean;

/** What services need from the node. */
export interface ServicesComponents {
  connections: ConnectionManager;
  peerIdFromBytes: (bytes: Uint8Array) => PeerId;
  /**
   * Our identity: signs the requests we send through relays and names us as a target. Without
   * it requests are direct only and forwarded requests are refused.
   */
  identity?: Identity;
  peerReporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

/** Options of services. */
export interface ServicesInit {
  /** Default time limit of a request. @default 10000 */
  requestTimeoutMs?: number;
  /** Largest request or response payload. @default 1047552 */
  maxMessageBytes?: number;
  /** Requests handled at once, over all peers; more are refused ("busy"). @default 256 */
  maxConcurrent?: number;
  /** Requests of one requester handled at once; more are refused ("busy"). @default 32 */
  maxConcurrentPerPeer?: number;
  /** Forward requests for other peers: yes, no, or a policy. @default true */
  relay?: boolean | ForwardPolicy;
  /** Serve requests that relays forward to us. @default true */
  acceptForwarded?: boolean;
  /** Relays tried per request when there is no direct route. @default 3 */
  maxRelayAttempts?: number;
  /**
   * Longest a direct dial may take before a request tries relays (at most half the request's
   * time limit). @default 5000
   */
  directDialTimeoutMs?: number;
  /** Requests of one requester a relay forwards at once. @default 8 */
  maxForwardsPerPeer?: number;
  /** How old (or how far ahead of our clock) a forwarded request may be. @default 60000 */
  forwardMaxAgeMs?: number;
  /** Forwarded requests remembered against replay (within forwardMaxAgeMs). @default 10000 */
  replayCacheMax?: number;
}

/** Counters of one services instance. */
export interface ServicesStats {
  /** Requests we sent. */
  requests: number;
  /** Requests we answered with OK. */
  served: number;
  /** Requests we refused (busy, by the handler, by policy, replays). */
  refused: number;
  /** Our requests that went through a relay. */
  forwarded: number;
  /** Requests we relayed for others. */
  relayed: number;
  /** Malformed or forged requests and responses. */
  invalid: number;
}

/** Request/response by service name. */
export interface Services {
  start(): void;
  stop(): void;
  /**
   * Registers `handler` for `service` (replacing any previous one).
   *
   * @throws {TypeError} for a name outside 1–128 bytes or a reserved one (`detr.*`)
   */
  handle(service: string, handler: ServiceHandler): void;
  unhandle(service: string): void;
  /**
   * Sends `data` to `service` on `peer` and resolves its answer: directly, or through a relay.
   *
   * @throws {UnknownServiceError} {RequestRefusedError} {HandlerError} from the target
   * @throws {TimeoutError} past `timeoutMs`; {AbortError} when `signal` aborts
   * @throws {PeerUnreachableError} with no route; {MessageTooLargeError} for too much data
   */
  request(
    peer: PeerId,
    service: string,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  stats(): ServicesStats;
}

/** Options with defaults filled in. */
export interface ServicesOptions {
  requestTimeoutMs: number;
  maxMessageBytes: number;
  maxConcurrent: number;
  maxConcurrentPerPeer: number;
  relay: ForwardPolicy | undefined;
  acceptForwarded: boolean;
  maxRelayAttempts: number;
  directDialTimeoutMs: number;
  maxForwardsPerPeer: number;
  forwardMaxAgeMs: number;
  replayCacheMax: number;
}

/**
 * Fills in defaults and checks the options.
 *
 * @throws {RangeError} for a non-positive limit
 */
export function resolveServicesInit(init: ServicesInit): ServicesOptions {
  const relay = init.relay ?? true;
  const o: ServicesOptions = {
    requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
    maxMessageBytes: init.maxMessageBytes ?? 1024 * 1024 - 1024,
    maxConcurrent: init.maxConcurrent ?? 256,
    maxConcurrentPerPeer: init.maxConcurrentPerPeer ?? 32,
    relay: relay === true ? () => true : relay === false ? undefined : relay,
    acceptForwarded: init.acceptForwarded ?? true,
    maxRelayAttempts: init.maxRelayAttempts ?? 3,
    directDialTimeoutMs: init.directDialTimeoutMs ?? 5000,
    maxForwardsPerPeer: init.maxForwardsPerPeer ?? 8,
    forwardMaxAgeMs: init.forwardMaxAgeMs ?? 60_000,
    replayCacheMax: init.replayCacheMax ?? 10_000,
  };
  for (const k of [
    'requestTimeoutMs',
    'maxMessageBytes',
    'maxConcurrent',
    'maxConcurrentPerPeer',
    'directDialTimeoutMs',
    'maxForwardsPerPeer',
    'forwardMaxAgeMs',
    'replayCacheMax',
  ] as const) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) throw new RangeError(`services ${k} must be > 0`);
  }
  if (!(Number.isInteger(o.maxRelayAttempts) && o.maxRelayAttempts >= 0)) {
    throw new RangeError('services maxRelayAttempts must be ≥ 0');
  }
  return o;
}
