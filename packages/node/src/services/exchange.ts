// The caller's side of one request on one connection, and the mapping between response statuses
// and typed errors (both directions).
import {
  AbortError,
  ClosedError,
  TimeoutError,
  type Connection,
  type PeerReporter,
} from '@detr/interface';
import {
  MessageType,
  ServiceStatus,
  type ServiceResponse,
  type ServiceResponseInit,
} from '@detr/protocol';
import {
  HandlerError,
  PeerUnreachableError,
  RemoteProtocolError,
  RequestRefusedError,
  UnknownServiceError,
} from '../errors.js';
import { readMessages, writeFrame } from '../framing.js';
import { isHostile } from '../messaging.js';
import { SVC_PROTOCOL } from './types.js';

/** Longest error text put in a response. */
const MAX_ERROR_CHARS = 512;

/** A request this node cannot make sense of (answered BAD_REQUEST; internal to services). */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** The typed error of a non-OK response. */
export function statusError(res: { status: number; error: string }, service: string): Error {
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

/** The response that reports `err` thrown while serving a request. */
export function errorResponse(err: unknown): ServiceResponseInit {
  const text = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_CHARS);
  if (err instanceof BadRequestError)
    return { status: ServiceStatus.SERVICE_STATUS_BAD_REQUEST, error: text };
  if (err instanceof RequestRefusedError)
    return { status: ServiceStatus.SERVICE_STATUS_REFUSED, error: text };
  if (err instanceof TimeoutError) return { status: ServiceStatus.SERVICE_STATUS_TIMEOUT };
  if (err instanceof PeerUnreachableError)
    return { status: ServiceStatus.SERVICE_STATUS_UNREACHABLE, error: text };
  return { status: ServiceStatus.SERVICE_STATUS_HANDLER_ERROR, error: text };
}

/** Request ids of one node, 1..2^32−2, wrapping. */
let nextRequestId = 1;

/**
 * Sends one request on a new stream of `conn` and reads its response.
 *
 * @throws {AbortError}/{TimeoutError} (the signal's reason) when `signal` aborts
 * @throws {RemoteProtocolError} for a response to another request; {ProtocolError} for bad
 *   framing (the peer is penalised); {ClosedError} when the stream ends without a response
 */
export async function exchange(
  conn: Connection,
  service: string,
  payload: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal,
  reporter: PeerReporter,
  maxResponseBytes: number,
): Promise<ServiceResponse> {
  const requestId = nextRequestId;
  nextRequestId = (nextRequestId % 0xffff_fffe) + 1;
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
      timeoutMs: Math.min(Math.max(Math.round(timeoutMs), 0), 0xffff_ffff),
      payload,
    });
    stream.end();
    for await (const m of readMessages(stream, [MessageType.ServiceResponse], maxResponseBytes)) {
      if (m.type !== MessageType.ServiceResponse || m.message.requestId !== requestId) {
        throw new RemoteProtocolError('response does not match the request');
      }
      return m.message;
    }
    throw new ClosedError('stream closed without a response');
  } catch (err) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError();
    if (isHostile(err) || err instanceof RemoteProtocolError) {
      reporter.penalize(conn.remotePeer, 'invalid-message');
    }
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}
