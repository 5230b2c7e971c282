// Messaging (/detr/msg/1): the event bus's send/onMessage. One long-lived stream per direction
// and peer carries MsgData frames; acknowledged messages get per-peer sequence numbers, are kept
// in a persisted outbox until the receiver's MsgAck, and are sent again on every reconnect and
// every `retransmitIntervalMs`. The receiver drops duplicates by sequence number.
import { setMaxListeners } from 'node:events';
import {
  AbortError,
  ClosedError,
  combineSignals,
  noopLogger,
  noopPeerReporter,
  systemClock,
  TimeoutError,
  type AbortOptions,
  type Clock,
  type Connection,
  type Logger,
  type PeerId,
  type PeerReporter,
  type Stream,
  type Timer,
} from '@detr/interface';
import { MessageType, MsgData, ProtocolError, Qos } from '@detr/protocol';
import type { Namespace, Store } from '@detr/stored';
import type { InboundLimiter, Priority, Scheduler } from '@detr/fluent';
import { frameBytes, readMessages, writeBytes } from './framing.js';
import type { ConnectionManager } from './ports.js';
import { MessageTooLargeError, PeerUnreachableError } from './errors.js';

/** The messaging stream protocol. */
export const MSG_PROTOCOL = '/detr/msg/1';

/** Delivery guarantee of one message. */
export type QosName = 'fire-and-forget' | 'ack';

/** Options of {@link Messaging.send}. */
export interface SendOptions extends AbortOptions {
  /** @default 'fire-and-forget' */
  qos?: QosName;
  /** Outbound priority (fluent). @default 'normal' */
  priority?: Priority;
  /** For `ack`: how long the promise waits for the acknowledgement. @default config ack_timeout_ms */
  timeoutMs?: number;
  /** Store the message in the DHT, sealed, when the peer is unreachable. @default true */
  offline?: boolean;
}

/** How a send ended. */
export interface SendResult {
  /** `sent`: written (fire-and-forget); `acked`: acknowledged; `stored-offline`: in the DHT. */
  status: 'sent' | 'acked' | 'stored-offline';
  /** Sequence number (acknowledged messages), else 0. */
  seq: number;
}

/** A received message. */
export interface ReceivedMessage {
  from: PeerId;
  channel: string;
  data: Uint8Array;
  /** How it arrived. */
  via: 'direct' | 'offline';
}

/** Handles messages of one channel; errors it throws are logged. */
export type MessageHandler = (message: ReceivedMessage) => void | Promise<void>;

export interface MessagingComponents {
  connections: ConnectionManager;
  /** Persists the outbox (namespace `outbox`); in memory when absent. */
  store?: Store;
  scheduler?: Scheduler;
  inbound?: InboundLimiter;
  peerReporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
  /** Parses persisted peer ids. */
  peerIdFromString: (text: string) => PeerId;
  /** Stores a message for an unreachable peer; resolves false when it cannot. */
  storeOffline?: (
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options: AbortOptions,
  ) => Promise<boolean>;
}

export interface MessagingInit {
  /** @default 1047552 */
  maxMessageBytes?: number;
  /** @default 30000 */
  ackTimeoutMs?: number;
  /** @default 5000 */
  retransmitIntervalMs?: number;
  /** @default 10000 */
  maxOutboxMessages?: number;
  /** Time limit of a dial made to send. @default 30000 */
  dialTimeoutMs?: number;
}

export interface MessagingStats {
  sent: number;
  received: number;
  acked: number;
  retransmitted: number;
  duplicates: number;
  outbox: number;
  invalid: number;
  storedOffline: number;
}

export interface Messaging {
  start(): Promise<void>;
  stop(): Promise<void>;
  send(peer: PeerId, channel: string, data: Uint8Array, options?: SendOptions): Promise<SendResult>;
  onMessage(channel: string, handler: MessageHandler): () => void;
  /** Hands a message that arrived another way (offline) to the channel's handlers. */
  deliver(message: ReceivedMessage): void;
  /** Acknowledged messages waiting, per peer (text form). */
  pending(): Record<string, number>;
  stats(): MessagingStats;
}

interface Waiter {
  resolve(r: SendResult): void;
  reject(err: Error): void;
}

interface PeerOut {
  nextSeq: number;
  /** seq → encoded MsgData frame, in insertion (= seq) order. */
  unacked: Map<number, { frame: Uint8Array; channel: string; sentAtMs: number }>;
  waiters: Map<number, Waiter>;
  stream: Stream | undefined;
  opening: Promise<Stream> | undefined;
  retrying: boolean;
}

interface PeerIn {
  cumulative: number;
  above: Set<number>;
}

const MAX_ABOVE = 4096;

/** True for errors caused by what the remote sent (not by the stream closing). */
export function isHostile(err: unknown): boolean {
  return err instanceof ProtocolError || err instanceof RangeError || err instanceof TypeError;
}
const pad = (n: number): string => n.toString(16).padStart(14, '0');

class MessagingImpl implements Messaging {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly reporter: PeerReporter;
  private readonly maxMessageBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly retransmitMs: number;
  private readonly maxOutbox: number;
  private readonly dialTimeoutMs: number;
  private readonly out = new Map<string, PeerOut>();
  private readonly inb = new Map<string, PeerIn>();
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly peers = new Map<string, PeerId>();
  private outbox: Namespace<Uint8Array> | undefined;
  private timer: Timer | undefined;
  private shutdown = new AbortController();
  private running = false;
  private offConnect: (() => void) | undefined;
  private readonly counters: MessagingStats = {
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
    this.reporter = c.peerReporter ?? noopPeerReporter;
    this.maxMessageBytes = init.maxMessageBytes ?? 1024 * 1024 - 1024;
    this.ackTimeoutMs = init.ackTimeoutMs ?? 30_000;
    this.retransmitMs = init.retransmitIntervalMs ?? 5000;
    this.maxOutbox = init.maxOutboxMessages ?? 10_000;
    this.dialTimeoutMs = init.dialTimeoutMs ?? 30_000;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.shutdown = new AbortController();
    // Every in-flight call listens on it (through AbortSignal.any): no listener limit.
    setMaxListeners(0, this.shutdown.signal);
    this.c.connections.handle(MSG_PROTOCOL, (stream, conn) => this.onInbound(stream, conn));
    this.offConnect = this.c.connections.on('connection:open', (conn) => {
      const st = this.out.get(conn.remotePeer.toString());
      if (st !== undefined && st.unacked.size > 0) void this.flush(conn.remotePeer);
    });
    if (this.c.store !== undefined) {
      this.outbox = this.c.store.namespace('outbox');
      this.loadOutbox();
    }
    this.schedule();
    return Promise.resolve();
  }

  private loadOutbox(): void {
    const ns = this.outbox as Namespace<Uint8Array>;
    for (const entry of ns.scan()) {
      const key = Buffer.from(entry.key).toString('utf8');
      const m = /^([a-z0-9]+)([/#])(.*)$/.exec(key);
      if (m === null) continue;
      let peer: PeerId;
      try {
        peer = this.c.peerIdFromString(m[1] as string);
      } catch {
        continue;
      }
      const st = this.state(peer);
      if (m[2] === '#') {
        st.nextSeq = Math.max(st.nextSeq, Number(Buffer.from(entry.value).toString('utf8')) || 1);
        continue;
      }
      const seq = parseInt(m[3] as string, 16);
      try {
        const msg = MsgData.decode(entry.value);
        st.unacked.set(seq, {
          frame: frameBytes(MessageType.MsgData, msg),
          channel: msg.channel,
          sentAtMs: 0,
        });
        st.nextSeq = Math.max(st.nextSeq, seq + 1);
      } catch {
        continue;
      }
    }
    this.counters.outbox = this.countOutbox();
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
      st = {
        nextSeq: 1,
        unacked: new Map(),
        waiters: new Map(),
        stream: undefined,
        opening: undefined,
        retrying: false,
      };
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
      this.onStreamError(peer, stream, err);
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
    return await new Promise<SendResult>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        cleanup();
        reject(
          new TimeoutError(`no acknowledgement of ${seq} within ${timeoutMs} ms (still queued)`),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        cleanup();
        reject(new AbortError(undefined, { cause: signal.reason }));
      };
      const cleanup = (): void => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      acked.then(
        (r) => {
          cleanup();
          resolve(r);
        },
        (e: Error) => {
          cleanup();
          reject(e);
        },
      );
    });
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

  private async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer;
    const key = peer.toString();
    stream.on('error', () => {});
    let first = true;
    const acks: number[] = [];
    let ackScheduled = false;
    const sendAcks = (): void => {
      ackScheduled = false;
      const st = this.inb.get(key);
      if (st === undefined || acks.length === 0 || stream.destroyed) return;
      const selective = acks.filter((s) => s > st.cumulative).slice(-256);
      acks.length = 0;
      void writeBytes(
        stream,
        frameBytes(MessageType.MsgAck, { cumulativeSeq: st.cumulative, selectiveSeqs: selective }),
      ).catch(() => {});
    };
    try {
      for await (const { type, message } of readMessages(stream, [MessageType.MsgData])) {
        if (type !== MessageType.MsgData) continue;
        if (
          this.c.inbound !== undefined &&
          !this.c.inbound.accept(peer, message.channel, message.payload.length)
        ) {
          continue;
        }
        if (message.qos === Qos.QOS_ACKNOWLEDGED) {
          if (message.seq === 0) throw new RangeError('acknowledged message without seq');
          let st = this.inb.get(key);
          if (st === undefined || (first && message.seq === 1)) {
            st = { cumulative: 0, above: new Set() };
            this.inb.set(key, st);
          }
          first = false;
          const dup = message.seq <= st.cumulative || st.above.has(message.seq);
          if (dup) this.counters.duplicates++;
          else {
            st.above.add(message.seq);
            while (st.above.has(st.cumulative + 1)) st.above.delete(++st.cumulative);
            if (st.above.size > MAX_ABOVE) {
              // A gap that never fills: give up on it rather than grow.
              const min = Math.min(...st.above);
              st.cumulative = min;
              st.above.delete(min);
            }
          }
          acks.push(message.seq);
          if (!ackScheduled) {
            ackScheduled = true;
            setImmediate(sendAcks);
          }
          if (dup) continue;
        }
        first = false;
        this.deliver({
          from: peer,
          channel: message.channel,
          data: message.payload,
          via: 'direct',
        });
      }
    } catch (err) {
      this.onStreamError(peer, stream, err);
    }
  }

  /** Hostile bytes are penalised; a closing stream is not. */
  private onStreamError(peer: PeerId, stream: Stream, err: unknown): void {
    if (isHostile(err)) {
      this.counters.invalid++;
      this.reporter.penalize(peer, 'invalid-message');
      this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'invalid message');
    }
    stream.reset(err instanceof Error ? err : undefined);
  }

  deliver(message: ReceivedMessage): void {
    this.counters.received++;
    for (const h of this.handlers.get(message.channel) ?? []) {
      try {
        const r = h(message);
        if (r instanceof Promise)
          r.catch((err: unknown) => this.log.warn({ err: String(err) }, 'message handler failed'));
      } catch (err) {
        this.log.warn({ err: String(err) }, 'message handler failed');
      }
    }
    for (const h of this.handlers.get('*') ?? []) {
      try {
        void h(message);
      } catch {
        // logged above for channel handlers; catch-all handlers are best effort
      }
    }
  }

  onMessage(channel: string, handler: MessageHandler): () => void {
    let set = this.handlers.get(channel);
    if (set === undefined) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
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
