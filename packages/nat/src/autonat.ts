// AutoNAT: reachability confirmed by peers dialing us back. A client asks a connected peer to
// dial one of its addresses on a fresh connection; the peer answers whether that worked. The
// server only dials addresses on the IP it sees the client at (so it cannot be aimed at a third
// party), one request per peer at a time, a few at once in total.
import type {
  Address,
  Clock,
  Connection,
  Logger,
  PeerId,
  PeerReporter,
  StreamHandler,
} from '@detr/interface';
import {
  noopLogger,
  noopPeerReporter,
  parseAddress,
  ProtocolViolationError,
  systemClock,
} from '@detr/interface';
import { DialBackStatus, MessageType } from '@detr/protocol';
import { readMessage, writeMessage } from './framed.js';

/** Stream protocol of dial-back requests. */
export const AUTONAT_PROTOCOL = '/detr/nat/autonat/1';
const MAX_FRAME = 8192;

export interface AutoNatServerComponents {
  /**
   * Dials `address` on a new connection (never an existing one) expecting `peer`; the
   * connection is closed right after.
   */
  dialBack(address: Address, peer: PeerId, options: { signal: AbortSignal }): Promise<Connection>;
  reporter?: PeerReporter;
  logger?: Logger;
}

export interface AutoNatServerInit {
  /** Dial-backs running at once. @default 8 */
  maxConcurrent?: number;
  /** Time for one dial-back. @default 10000 */
  dialTimeoutMs?: number;
}

/**
 * The AutoNAT server: the handler of {@link AUTONAT_PROTOCOL} streams.
 *
 * @example
 * ```ts
 * manager.handle(AUTONAT_PROTOCOL, createAutoNatServer({ dialBack }).handler)
 * ```
 */
export function createAutoNatServer(
  components: AutoNatServerComponents,
  init: AutoNatServerInit = {},
): { readonly handler: StreamHandler; readonly stats: { dialed: number; refused: number } } {
  const log = (components.logger ?? noopLogger).child({ component: 'nat:autonat' });
  const reporter = components.reporter ?? noopPeerReporter;
  const maxConcurrent = init.maxConcurrent ?? 8;
  const dialTimeoutMs = init.dialTimeoutMs ?? 10_000;
  const busy = new Set<string>();
  const stats = { dialed: 0, refused: 0 };
  const handler: StreamHandler = async (stream, conn) => {
    const respond = (status: DialBackStatus, address = '', message = ''): Promise<void> =>
      writeMessage(
        stream,
        MessageType.DialBackResponse,
        { status, address, message },
        MAX_FRAME,
      ).then(() => {
        stream.end();
      });
    let addresses: string[];
    try {
      addresses = (
        await readMessage(stream, [MessageType.DialBackRequest], {
          maxFrameBytes: MAX_FRAME,
          signal: AbortSignal.timeout(10_000),
        })
      ).message.addresses;
    } catch (err) {
      if (err instanceof ProtocolViolationError)
        reporter.penalize(conn.remotePeer, 'protocol-violation');
      stream.reset();
      return;
    }
    const key = conn.remotePeer.toString();
    const seenIp = conn.remoteAddress.relay === undefined ? conn.remoteAddress.host : undefined;
    const candidates: Address[] = [];
    for (const text of addresses.slice(0, 8)) {
      try {
        const a = parseAddress(text);
        if (
          a.relay === undefined &&
          a.host === seenIp &&
          (a.transport === 'tcp' || a.transport === 'quic')
        ) {
          candidates.push(a);
        }
      } catch {
        // skip
      }
    }
    if (candidates.length === 0) {
      stats.refused++;
      await respond(
        DialBackStatus.DIAL_BACK_STATUS_DIAL_REFUSED,
        '',
        'no dialable address on the observed IP',
      ).catch(() => {});
      return;
    }
    if (busy.has(key) || busy.size >= maxConcurrent) {
      stats.refused++;
      await respond(DialBackStatus.DIAL_BACK_STATUS_DIAL_REFUSED, '', 'busy').catch(() => {});
      return;
    }
    busy.add(key);
    try {
      for (const address of candidates) {
        try {
          const back = await components.dialBack(address, conn.remotePeer, {
            signal: AbortSignal.timeout(dialTimeoutMs),
          });
          await back.close().catch(() => {});
          stats.dialed++;
          await respond(DialBackStatus.DIAL_BACK_STATUS_OK, address.toString());
          return;
        } catch (err) {
          log.debug(
            { err: (err as Error).message, address: address.toString() },
            'dial-back failed',
          );
        }
      }
      await respond(DialBackStatus.DIAL_BACK_STATUS_DIAL_ERROR).catch(() => {});
    } finally {
      busy.delete(key);
    }
  };
  return { handler, stats };
}

/** The outcome of one dial-back request. */
export type DialBackOutcome = { ok: true; address: string } | { ok: false; refused: boolean };

/**
 * Asks the peer at the other end of `conn` to dial us back at one of `addresses`.
 *
 * @throws {ProtocolViolationError} for a malformed answer
 * @example
 * ```ts
 * const r = await requestDialBack(connection, listener.addresses(), { signal })
 * ```
 */
export async function requestDialBack(
  conn: Connection,
  addresses: readonly Address[],
  options: { signal?: AbortSignal } = {},
): Promise<DialBackOutcome> {
  const stream = await conn.newStream(AUTONAT_PROTOCOL, options);
  try {
    await writeMessage(
      stream,
      MessageType.DialBackRequest,
      { addresses: addresses.slice(0, 16).map(String), nonce: new Uint8Array(0) },
      MAX_FRAME,
    );
    const { message } = await readMessage(stream, [MessageType.DialBackResponse], {
      maxFrameBytes: MAX_FRAME,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    stream.end();
    if (message.status === DialBackStatus.DIAL_BACK_STATUS_OK)
      return { ok: true, address: message.address };
    return { ok: false, refused: message.status === DialBackStatus.DIAL_BACK_STATUS_DIAL_REFUSED };
  } catch (err) {
    stream.reset();
    throw err;
  }
}

/** Reachability as AutoNAT sees it. */
export type Reachability = 'public' | 'private' | 'unknown';

/**
 * Tallies dial-back outcomes from distinct peers into a verdict: `public` after `threshold`
 * successes, `private` after `threshold` failures with no success more recent.
 *
 * @example
 * ```ts
 * const tally = createReachabilityTally(2, clock)
 * tally.record(peer, outcome); tally.reachability
 * ```
 */
export function createReachabilityTally(
  threshold = 2,
  clock: Clock = systemClock,
  maxAgeMs = 30 * 60_000,
): { record(peer: PeerId, outcome: DialBackOutcome): void; readonly reachability: Reachability } {
  const results = new Map<string, { ok: boolean; at: number }>();
  return {
    record(peer, outcome) {
      if (!outcome.ok && outcome.refused) return;
      results.set(peer.toString(), { ok: outcome.ok, at: clock.now() });
    },
    get reachability(): Reachability {
      const fresh = [...results.values()].filter((r) => clock.now() - r.at <= maxAgeMs);
      const ok = fresh.filter((r) => r.ok).length;
      const failed = fresh.length - ok;
      if (ok >= threshold) return 'public';
      if (failed >= threshold && ok === 0) return 'private';
      return 'unknown';
    },
  };
}
