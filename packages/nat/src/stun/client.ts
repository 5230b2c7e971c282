// STUN Binding transactions over one UDP socket, with retransmission, transaction matching and
// abort. Used for NAT behaviour discovery; ICE itself is libjuice's (inside node-datachannel).
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { AbortError, combineSignals } from '@detr/interface';
import { StunError } from '../errors.js';
import {
  encodeBindingRequest,
  parseBindingResponse,
  type BindingResponse,
  type Endpoint,
} from './message.js';

/** A STUN server's endpoint. */
export interface StunServer {
  readonly host: string;
  readonly port: number;
}

/** One UDP socket doing STUN transactions; `close()` is idempotent. */
export interface StunSocket {
  /** The local endpoint the socket is bound to. */
  readonly local: Endpoint;
  /**
   * One Binding transaction: retransmits at 250, 500, 1000 ms… until `timeoutMs`.
   *
   * @throws {StunError} when no valid answer arrives in time
   * @throws {AbortError} when `signal` aborts
   */
  binding(
    server: StunServer,
    options?: {
      change?: { ip?: boolean; port?: boolean };
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<BindingResponse>;
  close(): void;
}

/** Counters of ignored datagrams (malformed, unmatched), for tests and metrics. */
export interface StunSocketStats {
  ignored: number;
}

/**
 * Opens a UDP socket on `bindAddress` (an ephemeral port) for STUN transactions.
 *
 * @throws {Error} when the socket cannot be bound
 * @example
 * ```ts
 * const s = await openStunSocket('0.0.0.0')
 * try { const r = await s.binding({ host: '203.0.113.10', port: 3478 }) } finally { s.close() }
 * ```
 */
export async function openStunSocket(
  bindAddress: string,
  stats: StunSocketStats = { ignored: 0 },
): Promise<StunSocket> {
  const family = bindAddress.includes(':') ? 'udp6' : 'udp4';
  const socket: Socket = createSocket({ type: family });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, bindAddress, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const pending = new Map<string, (r: BindingResponse | undefined, err?: Error) => void>();
  socket.on('error', () => {});
  socket.on('message', (msg) => {
    const r = parseBindingResponse(msg);
    const key = r === undefined ? undefined : Buffer.from(r.transactionId).toString('hex');
    const waiter = key === undefined ? undefined : pending.get(key);
    if (r === undefined || waiter === undefined) {
      stats.ignored++;
      return;
    }
    waiter(r);
  });
  const addr = socket.address();
  let closed = false;
  return {
    local: { address: addr.address, port: addr.port, family: family === 'udp6' ? 6 : 4 },
    binding(server, options = {}) {
      const timeoutMs = options.timeoutMs ?? 2000;
      const tid = new Uint8Array(randomBytes(12));
      const key = Buffer.from(tid).toString('hex');
      const request = encodeBindingRequest(tid, options.change);
      return new Promise<BindingResponse>((resolve, reject) => {
        if (closed) return reject(new StunError('STUN socket closed'));
        const signal = combineSignals(options.signal, AbortSignal.timeout(timeoutMs));
        let rto = 250;
        let timer: NodeJS.Timeout | undefined;
        const finish = (err: Error | undefined, r?: BindingResponse): void => {
          pending.delete(key);
          if (timer !== undefined) clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (err !== undefined) reject(err);
          else resolve(r as BindingResponse);
        };
        const onAbort = (): void => {
          finish(
            options.signal?.aborted === true
              ? new AbortError(undefined, { cause: options.signal.reason })
              : new StunError(`no STUN answer from ${server.host}:${server.port}`),
          );
        };
        const send = (): void => {
          if (closed) return;
          socket.send(request, server.port, server.host, () => {});
          timer = setTimeout(send, rto);
          rto *= 2;
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(key, (r, err) => finish(err, r));
        send();
      });
    },
    close() {
      if (closed) return;
      closed = true;
      for (const waiter of [...pending.values()])
        waiter(undefined, new StunError('STUN socket closed'));
      socket.close();
    },
  };
}
