// Messaging (/detr/msg/1), the sending side and the service: one long-lived stream per direction
// and peer carries MsgData frames; acknowledged messages get per-peer sequence numbers, are kept in
// a persisted outbox (outbox.ts) until the receiver's MsgAck, and are sent again on every reconnect
// and every `retransmitIntervalMs`. The receiving side is inbound.ts.
import {
  AbortError,
  ClosedError,
  combineSignals,
  noopLogger,
  noopPeerReporter,
  systemClock,
  type AbortOptions,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
  type Timer,
  shutdownController,
} from '@detr/interface';
import { MessageType, MsgData, Qos } from '@detr/protocol';
import type { Namespace } from '@detr/stored';
import type { InboundLimiter, Priority } from '@detr/fluent';
import { frameBytes, readMessages, writeBytes } from '../framing.js';
import { MessageTooLargeError, PeerUnreachableError } from '../errors.js';
import { onStreamError, receive, type Receiver } from './inbound.js';
import { createHandlerRegistry, waitForAck, type HandlerRegistry } from './handlers.js';
import { loadOutbox, newPeerOut, pad, type PeerIn, type PeerOut } from './outbox.js';
import {
  MSG_PROTOCOL,
  type MessageHandler,
  type Messaging,
  type MessagingComponents,
  type MessagingInit,
  type MessagingStats,
  type ReceivedMessage,
  type SendOptions,
  type SendResult,
} from './types.js';

class MessagingImpl implements Messaging, Receiver {
  private readonly clock: Clock;
  readonly log: Logger;
  readonly reporter: PeerReporter;
  private readonly maxMessageBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly retransmitMs: number;
  private readonly maxOutbox: number;
  private readonly dialTimeoutMs: number;
  private readonly out = new Map<string, PeerOut>();
  readonly inb = new Map<string, PeerIn>();
  private readonly handlers: HandlerRegistry;
  private readonly peers = new Map<string, PeerId>();
  private outbox: Namespace<Uint8Array> | undefined;
  private timer: Timer | undefined;
  private shutdown = shutdownController();
  private running = false;
  private offConnect: (() => void) | undefined;
  readonly counters: MessagingStats = {
    sent: 0,
    received: 0,
    acked: 0,
    retransmitted: 0,
    duplicates: 0,
    outbox: 0,
    invalid: 0,
    storedOffline: 0,
  };

  constructor(
    private readonly c: MessagingComponents,
    init: MessagingInit,
  ) {
    this.clock = c.clock ?? systemClock;
    this.log = (c.logger ?? noopLogger).child({ component: 'node:messaging' });
    this.handlers = createHandlerRegistry(this.log);
    this.reporter = c.peerReporter ?? noopPeerReporter;
    this.maxMessageBytes = init.maxMessageBytes ?? 1024 * 1024 - 1024;
    this.ackTimeoutMs = init.ackTimeoutMs ?? 30_000;
    this.retransmitMs = init.retransmitIntervalMs ?? 5000;
    this.maxOutbox = init.maxOutboxMessages ?? 10_000;
    this.dialTimeoutMs = init.dialTimeoutMs ?? 30_000;
  }

  get inbound(): InboundLimiter | undefined {
    return this.c.inbound;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.shutdown = shutdownController();
    // Every in-flight call listens on it (through AbortSignal.any): no listener limit.
    this.c.connections.handle(MSG_PROTOCOL, (stream, conn) => receive(this, stream, conn));
    this.offConnect = this.c.connections.on('connection:open', (conn) => {
      const st = this.out.get(conn.remotePeer.toString());
      if (st !== undefined && st.unacked.size > 0) void this.flush(conn.remotePeer);
    });
    if (this.c.store !== undefined) {
      this.outbox = this.c.store.namespace('outbox');
      loadOutbox(this.outbox, this.c.peerIdFromString, (p) => this.state(p));
      this.counters.outbox = this.countOutbox();
    }
    this.schedule();
    return Promise.resolve();
  }

  private countOutbox(): number {
    let n = 0;
    for (const st of this.out.values()) n += st.unacked.size;
    return n;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.shutdown.abort(new AbortError('messaging stopped'));
    this.timer?.cancel();
    this.timer = undefined;
    this.offConnect?.();
    this.c.connections.unhandle(MSG_PROTOCOL);
    for (const st of this.out.values()) {
      for (const w of st.waiters.values()) w.reject(new ClosedError('node stopped'));
      st.waiters.clear();
      st.stream?.destroy();
      st.stream = undefined;
    }
    await Promise.resolve();
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (!this.running) return;
      this.retransmitDue();
      this.schedule();
    }, this.retransmitMs);
  }

  private retransmitDue(): void {
    const now = this.clock.now();
    for (const [key, st] of this.out) {
      if (st.unacked.size === 0 || st.retrying) continue;
      const oldest = st.unacked.values().next().value;
      if (oldest !== undefined && now - oldest.sentAtMs < this.retransmitMs) continue;
      const peer = this.peers.get(key);
      if (peer !== undefined) void this.flush(peer);
    }
  }

  private state(peer: PeerId): PeerOut {
    const key = peer.toString();
    let st = this.out.get(key);
    if (st === undefined) {
      st = newPeerOut();
      this.out.set(key, st);
      this.peers.set(key, peer);
    }
    return st;
  }

  /** Sends every unacknowledged message of `peer` again, in order. */
  private async flush(peer: PeerId): Promise<void> {
    const st = this.state(peer);
    if (st.retrying) return;
    st.retrying = true;
    try {
      const stream = await this.streamTo(peer);
      for (const [, entry] of st.unacked) {
        entry.sentAtMs = this.clock.now();
        await this.write(peer, stream, entry.frame, entry.channel, 'high');
        this.counters.retransmitted++;
      }
    } catch (err) {
      this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'retransmit failed');
    } finally {
      st.retrying = false;
    }
  }

  private async streamTo(peer: PeerId, options: AbortOptions = {}): Promise<Stream> {
    const st = this.state(peer);
    if (st.stream !== undefined && !st.stream.destroyed && !st.stream.writableEnded)
      return st.stream;
    if (st.opening !== undefined) return st.opening;
    const signal = combineSignals(
      options.signal,
      this.shutdown.signal,
      AbortSignal.timeout(this.dialTimeoutMs),
    );
    st.opening = (async () => {
      let conn: Connection;
      try {
        conn = await this.c.connections.dial(peer, { signal });
      } catch (err) {
        if (err instanceof AbortError && this.shutdown.signal.aborted) throw err;
        throw new PeerUnreachableError(peer.toString(), { cause: err });
      }
      const stream = await conn.newStream(MSG_PROTOCOL, { signal });
      st.stream = stream;
      stream.on('error', () => {});
      stream.once('close', () => {
        if (st.stream === stream) st.stream = undefined;
      });
      void this.readAcks(peer, stream);
      return stream;
    })();
    try {
      return await st.opening;
    } finally {
      st.opening = undefined;
    }
  }

  private async write(
    peer: PeerId,
    stream: Stream,
    frame: Uint8Array,
    channel: string,
    priority: Priority,
    options: AbortOptions = {},
  ): Promise<void> {
    const scheduler = this.c.scheduler;
    if (scheduler === undefined) {
      await writeBytes(stream, frame);
      return;
    }
    const queue =
      scheduler.get(peer) ??
      scheduler.open(peer, async (m) => writeBytes(await this.streamTo(peer), m.data));
    await queue.send({ channel, data: frame, priority }, options);
  }

  private async readAcks(peer: PeerId, stream: Stream): Promise<void> {
    const st = this.state(peer);
    try {
      for await (const { type, message } of readMessages(stream, [MessageType.MsgAck])) {
        if (type !== MessageType.MsgAck) continue;
        this.acknowledge(peer, st, message.cumulativeSeq, message.selectiveSeqs);
      }
    } catch (err) {
      onStreamError(this, peer, stream, err);
    }
  }

  private acknowledge(
    peer: PeerId,
    st: PeerOut,
    cumulative: number,
    selective: readonly number[],
  ): void {
    const done: number[] = [];
    for (const seq of st.unacked.keys()) {
      if (seq <= cumulative) done.push(seq);
      else break;
    }
    for (const s of selective) if (st.unacked.has(s)) done.push(s);
    for (const seq of done) {
      st.unacked.delete(seq);
      this.counters.acked++;
      void this.outbox?.delete(`${peer.toString()}/${pad(seq)}`).catch(() => {});
      const w = st.waiters.get(seq);
      if (w !== undefined) {
        st.waiters.delete(seq);
        w.resolve({ status: 'acked', seq });
      }
    }
    this.counters.outbox = this.countOutbox();
  }

  async send(
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options: SendOptions = {},
  ): Promise<SendResult> {
    if (!this.running) throw new ClosedError('node not started');
    if (typeof channel !== 'string' || channel.length === 0 || Buffer.byteLength(channel) > 256) {
      throw new TypeError('channel must be a non-empty string of at most 256 bytes');
    }
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (data.length > this.maxMessageBytes)
      throw new MessageTooLargeError(data.length, this.maxMessageBytes);
    const qos = options.qos ?? 'fire-and-forget';
    const priority = options.priority ?? 'normal';
    const offline = options.offline !== false && this.c.storeOffline !== undefined;
    if (qos === 'fire-and-forget') {
      try {
        const stream = await this.streamTo(peer, options);
        await this.write(
          peer,
          stream,
          frameBytes(MessageType.MsgData, {
            channel,
            seq: 0,
            qos: Qos.QOS_FIRE_AND_FORGET,
            payload: data,
          }),
          channel,
          priority,
          options,
        );
        this.counters.sent++;
        return { status: 'sent', seq: 0 };
      } catch (err) {
        if (
          offline &&
          err instanceof PeerUnreachableError &&
          (await this.tryOffline(peer, channel, data, options))
        ) {
          return { status: 'stored-offline', seq: 0 };
        }
        throw err;
      }
    }
    const st = this.state(peer);
    if (this.countOutbox() >= this.maxOutbox) throw new RangeError('outbox full');
    const seq = st.nextSeq++;
    const msg = { channel, seq, qos: Qos.QOS_ACKNOWLEDGED, payload: data };
    const frame = frameBytes(MessageType.MsgData, msg);
    st.unacked.set(seq, { frame, channel, sentAtMs: this.clock.now() });
    this.counters.outbox = this.countOutbox();
    const store = this.c.store;
    if (this.outbox !== undefined && store !== undefined) {
      await store
        .batch()
        .put(this.outbox, `${peer.toString()}/${pad(seq)}`, MsgData.encode(msg))
        .put(this.outbox, `${peer.toString()}#seq`, new TextEncoder().encode(String(st.nextSeq)))
        .commit();
    }
    const acked = new Promise<SendResult>((resolve, reject) =>
      st.waiters.set(seq, { resolve, reject }),
    );
    acked.catch(() => {});
    try {
      const stream = await this.streamTo(peer, options);
      await this.write(peer, stream, frame, channel, priority, options);
      this.counters.sent++;
    } catch (err) {
      if (
        offline &&
        err instanceof PeerUnreachableError &&
        (await this.tryOffline(peer, channel, data, options))
      ) {
        // The DHT holds it now: stop retransmitting.
        this.acknowledge(peer, st, 0, [seq]);
        this.counters.acked--;
        return { status: 'stored-offline', seq };
      }
      if (!(err instanceof PeerUnreachableError)) throw err;
      // Unreachable: it stays in the outbox and goes out on the next connection.
    }
    const timeoutMs = options.timeoutMs ?? this.ackTimeoutMs;
    const signal = combineSignals(options.signal, this.shutdown.signal);
    return waitForAck(acked, seq, timeoutMs, signal, this.clock);
  }

  private async tryOffline(
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options: AbortOptions,
  ): Promise<boolean> {
    try {
      const ok = (await this.c.storeOffline?.(peer, channel, data, options)) === true;
      if (ok) this.counters.storedOffline++;
      return ok;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'offline store failed');
      return false;
    }
  }

  deliver(message: ReceivedMessage): void {
    this.counters.received++;
    this.handlers.deliver(message);
  }

  onMessage(channel: string, handler: MessageHandler): () => void {
    return this.handlers.add(channel, handler);
  }

  pending(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, st] of this.out) if (st.unacked.size > 0) out[k] = st.unacked.size;
    return out;
  }

  stats(): MessagingStats {
    return { ...this.counters, outbox: this.countOutbox() };
  }
}

/**
 * Creates the messaging service (send / onMessage with fire-and-forget or acknowledged delivery).
 *
 * @example
 * ```ts
 * const messaging = createMessaging({ connections, store, peerIdFromString }, { ackTimeoutMs: 10_000 })
 * await messaging.start()
 * messaging.onMessage('chat', ({ from, data }) => console.log(from.toString(), data))
 * await messaging.send(peer, 'chat', bytes, { qos: 'ack' })
 * ```
 */
export function createMessaging(
  components: MessagingComponents,
  init: MessagingInit = {},
): Messaging {
  return new MessagingImpl(components, init);
}
