// Signaling without a central server: the `/detr/nat/signal/1` stream handler (deliver an inbound
// negotiation, or forward it for two peers we are both connected to), opening signal paths to a
// peer (over a connection to it, or to a mutual peer), and the DHT mailbox poller.
import type { Connection, PeerId, Stream, StreamHandler, Timer } from '@detr/interface';
import {
  AbortError,
  noopLogger,
  noopPeerReporter,
  ProtocolViolationError,
  systemClock,
  shutdownController,
} from '@detr/interface';
import { peerIdFromBytes } from '@detr/aecomms';
import { MessageType } from '@detr/protocol';
import { readMessage, writeMessage } from '../framed.js';
import { splice } from '../splice.js';
import { createDhtMailbox, type DhtMailbox } from './dht.js';
import {
  MAX_SIGNAL_FRAME_BYTES,
  SIGNAL_PROTOCOL,
  streamSignalPath,
  type SignalPath,
} from './path.js';
import { fromWire, isPeer, toWire, type SignalBody, type SignalEnvelope } from './signal.js';
import type {
  SignalingComponents,
  SignalingInit,
  OfferHandler,
  SignalingStats,
  Signaling,
} from './types.js';

export type {
  ConnectionSource,
  SignalingComponents,
  SignalingInit,
  OfferHandler,
  SignalingStats,
  Signaling,
} from './types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Creates the signaling service.
 *
 * @example
 * ```ts
 * const signaling = createSignaling({ peerId, connections, records }, {})
 * manager.handle(SIGNAL_PROTOCOL, signaling.handler)
 * ```
 */
export function createSignaling(
  components: SignalingComponents,
  init: SignalingInit = {},
): Signaling {
  const self = components.peerId;
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'nat:signaling' });
  const reporter = components.reporter ?? noopPeerReporter;
  const o = {
    forward: init.forward ?? true,
    maxForwards: init.maxForwards ?? 64,
    maxForwardsPerPeer: init.maxForwardsPerPeer ?? 4,
    forwardBytes: init.forwardBytes ?? 65536,
    forwardTimeoutMs: init.forwardTimeoutMs ?? 30_000,
    firstSignalTimeoutMs: init.firstSignalTimeoutMs ?? 10_000,
    dhtPollIntervalMs: init.dhtPollIntervalMs ?? 5000,
    dhtFastPollMs: init.dhtFastPollMs ?? 250,
  };
  const stats: SignalingStats = {
    forwarded: 0,
    forwardsRefused: 0,
    inbound: 0,
    violations: 0,
    dhtPolls: 0,
    dhtReceived: 0,
  };
  let offerHandler: OfferHandler | undefined;
  const forwardsByPeer = new Map<string, number>();
  let forwards = 0;
  let running = false;

  // DHT: our mailbox, negotiations waiting on it, and the poll timer.
  const mailbox: DhtMailbox | undefined =
    components.records === undefined || o.dhtPollIntervalMs <= 0
      ? undefined
      : createDhtMailbox(components.records, self, () => clock.now());
  const dhtWaiting = new Map<string, (e: SignalEnvelope) => void>();
  let pollTimer: Timer | undefined;
  let polling = false;
  let pollAbort = shutdownController();

  const violation = (peer: PeerId, stream: Stream, why: string): void => {
    stats.violations++;
    reporter.penalize(peer, 'protocol-violation');
    log.debug({ peer: peer.toString(), why }, 'signaling violation');
    stream.reset(new ProtocolViolationError(why));
  };

  const forward = async (
    stream: Stream,
    conn: Connection,
    first: SignalEnvelope,
  ): Promise<void> => {
    const source = conn.remotePeer;
    if (!isPeer(first.from, source)) {
      violation(source, stream, 'forward request with a forged sender');
      return;
    }
    const key = source.toString();
    const mine = forwardsByPeer.get(key) ?? 0;
    let target: PeerId;
    try {
      target = peerIdFromBytes(first.to);
    } catch {
      violation(source, stream, 'bad target');
      return;
    }
    const out = components.connections.connections(target).find((c) => c.status === 'open');
    if (
      !o.forward ||
      forwards >= o.maxForwards ||
      mine >= o.maxForwardsPerPeer ||
      out === undefined
    ) {
      stats.forwardsRefused++;
      stream.reset();
      return;
    }
    forwards++;
    forwardsByPeer.set(key, mine + 1);
    try {
      const toTarget = await out.newStream(SIGNAL_PROTOCOL);
      await writeMessage(toTarget, MessageType.Signal, toWire(first), MAX_SIGNAL_FRAME_BYTES);
      stats.forwarded++;
      await splice(stream, toTarget, {
        maxBytesPerDirection: o.forwardBytes,
        maxDurationMs: o.forwardTimeoutMs,
      });
    } catch (err) {
      log.debug({ err }, 'forwarding failed');
      stream.reset();
    } finally {
      forwards--;
      const n = (forwardsByPeer.get(key) ?? 1) - 1;
      if (n === 0) forwardsByPeer.delete(key);
      else forwardsByPeer.set(key, n);
    }
  };

  const handler: StreamHandler = async (stream, conn) => {
    let first: SignalEnvelope;
    try {
      const { message } = await readMessage(stream, [MessageType.Signal], {
        maxFrameBytes: MAX_SIGNAL_FRAME_BYTES,
        signal: AbortSignal.timeout(o.firstSignalTimeoutMs),
      });
      first = fromWire(message);
    } catch (err) {
      if (err instanceof ProtocolViolationError)
        violation(conn.remotePeer, stream, 'malformed signal');
      else stream.reset();
      return;
    }
    if (!isPeer(first.to, self)) {
      await forward(stream, conn, first);
      return;
    }
    let from: PeerId;
    try {
      from = peerIdFromBytes(first.from);
    } catch {
      violation(conn.remotePeer, stream, 'bad sender');
      return;
    }
    if (first.body.kind !== 'offer') {
      violation(conn.remotePeer, stream, 'negotiation must start with an offer');
      return;
    }
    if (offerHandler === undefined || !running) {
      stream.reset();
      return;
    }
    stats.inbound++;
    const route = from.equals(conn.remotePeer) ? 'direct' : 'relay';
    const path = streamSignalPath(stream, {
      self,
      remote: from,
      sessionId: first.sessionId,
      route,
      first,
    });
    offerHandler(path, from, await path.next());
  };

  const schedulePoll = (): void => {
    if (!running || mailbox === undefined || pollTimer !== undefined) return;
    const delay = dhtWaiting.size > 0 ? o.dhtFastPollMs : o.dhtPollIntervalMs;
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined;
      void pollOnce().finally(schedulePoll);
    }, delay);
  };

  const pollOnce = async (): Promise<void> => {
    if (mailbox === undefined || polling) return;
    polling = true;
    stats.dhtPolls++;
    try {
      const e = await mailbox.poll({ signal: pollAbort.signal });
      if (e === undefined) return;
      stats.dhtReceived++;
      const waiter = dhtWaiting.get(hex(e.sessionId));
      if (waiter !== undefined) {
        waiter(e);
        return;
      }
      if (e.body.kind !== 'offer' || offerHandler === undefined) return;
      const from = peerIdFromBytes(e.from);
      const path = dhtPath(from, e.sessionId);
      if (path !== undefined) offerHandler(path, from, e.body);
    } catch (err) {
      if (!(err instanceof AbortError)) log.debug({ err }, 'mailbox poll failed');
    } finally {
      polling = false;
    }
  };

  const dhtPath = (target: PeerId, sessionId: Uint8Array): SignalPath | undefined => {
    if (mailbox === undefined) return undefined;
    const key = hex(sessionId);
    const queue: SignalBody[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    dhtWaiting.set(key, (e) => {
      if (!isPeer(e.from, target)) return;
      queue.push(e.body);
      wake?.();
    });
    // Wake the poller early: an answer is expected soon.
    if (pollTimer !== undefined) {
      pollTimer.cancel();
      pollTimer = undefined;
    }
    schedulePoll();
    return {
      route: 'dht',
      trickle: false,
      sessionId,
      async send(body) {
        if (body.kind === 'candidate' || body.kind === 'end-of-candidates') return;
        await mailbox.send(
          target,
          { sessionId, from: self.bytes, to: target.bytes, body },
          { signal: pollAbort.signal },
        );
      },
      async next(options = {}) {
        for (;;) {
          const b = queue.shift();
          if (b !== undefined) return b;
          if (closed) throw new AbortError('signal path closed');
          const signal = options.signal;
          if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason });
          await new Promise<void>((resolve, reject) => {
            const onAbort = (): void =>
              reject(new AbortError(undefined, { cause: signal?.reason }));
            wake = () => {
              wake = undefined;
              signal?.removeEventListener('abort', onAbort);
              resolve();
            };
            signal?.addEventListener('abort', onAbort, { once: true });
          });
        }
      },
      close() {
        closed = true;
        dhtWaiting.delete(key);
        wake?.();
      },
    };
  };

  return {
    handler,
    stats,
    onOffer(h) {
      offerHandler = h;
    },
    async openPath(target, via, sessionId) {
      const stream = await via.newStream(SIGNAL_PROTOCOL);
      const route = via.remotePeer.equals(target) ? 'direct' : 'relay';
      return streamSignalPath(stream, { self, remote: target, sessionId, route });
    },
    openDhtPath: dhtPath,
    start() {
      if (running) return;
      running = true;
      if (pollAbort.signal.aborted) pollAbort = shutdownController();
      schedulePoll();
    },
    stop() {
      running = false;
      pollTimer?.cancel();
      pollTimer = undefined;
      pollAbort.abort();
      dhtWaiting.clear();
    },
  };
}
