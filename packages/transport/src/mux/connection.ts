// A multiplexed connection over a MessagePipe: stream lifecycle, idle timeout and graceful close.
// Sending is outbox.ts, per-stream credit flow.ts, keepalive and idle deadlines deadlines.ts
// (keepalive.ts), inbound frames inbound.ts.
import type {
  Address,
  Clock,
  Connection,
  ConnectionStats,
  ConnectionStatus,
  Direction,
  Logger,
  NewStreamOptions,
  PeerReporter,
  PenaltyReason,
  RemoteInfo,
  Stream,
  StreamRegistry,
} from '@detr/interface';
import {
  AbortError,
  ClosedError,
  ProtocolViolationError,
  TimeoutError,
  throwIfAborted,
} from '@detr/interface';
import type { MessageInitByType } from '@detr/protocol';
import { MessageType, MuxErrorCode, encodeDataHeader, encodeFrame } from '@detr/protocol';
import type { MessagePipe, PipeHandlers } from '../pipe.js';
import { checkProtocolName } from '../protocol-name.js';
import { Deadlines, type DeadlineOwner } from './deadlines.js';
import { Flow, type FlowOwner } from './flow.js';
import { InboundFrames, stacklessError } from './inbound.js';
import { BASE_WINDOW_BYTES, type MuxSettings } from './options.js';
import { Outbox, type MuxCounters, type OutboxOwner } from './outbox.js';
import { MuxStream, type StreamOwner } from './stream.js';
import { StreamTable } from './stream-table.js';
import { isThenable } from '../util.js';

/** Injected dependencies of a multiplexed connection. */
export interface MuxComponents {
  pipe: MessagePipe;
  registry: StreamRegistry;
  reporter: PeerReporter;
  clock: Clock;
  logger: Logger;
}

/** Who is at the other end, as established by the handshake. */
export interface MuxConnectionInfo {
  id: string;
  remote: RemoteInfo;
  remoteAddress: Address;
  direction: Direction;
  transport: string;
  /** Protocol version negotiated in the handshake: written in, and required of, every frame. */
  version: number;
}

/** Readable/writable high-water mark of each stream. */
const STREAM_HWM = 64 * 1024;

export class MuxConnection
  implements Connection, StreamOwner, DeadlineOwner, OutboxOwner, FlowOwner, PipeHandlers
{
  readonly id: string;
  readonly remote: RemoteInfo;
  readonly remotePeer: RemoteInfo['peer'];
  readonly remoteAddress: Address;
  readonly direction: Direction;
  readonly transport: string;
  status: ConnectionStatus = 'open';
  private logger: Logger | undefined;
  /** Open streams, the ids in use and the stream limits. */
  readonly table: StreamTable;
  bytesReceived = 0;

  private readonly c: MuxComponents;
  private readonly settings: MuxSettings;
  private readonly version: number;
  private readonly outbox: Outbox;
  private readonly timers: Deadlines;
  private readonly inbound: InboundFrames;
  private readonly flow: Flow;
  private idleTimeoutMs: number;
  /** We sent a GoAway: no new inbound stream. */
  private goAwaySent = false;
  /** The remote sent a GoAway: we open no new stream. */
  private goAwayReceived = false;
  private closing: Promise<void> | undefined;
  private closeWaiters: Array<() => void> | undefined;
  /** The first close listener (most connections have one: their transport's), then the rest. */
  private closeListener: ((err?: Error) => void) | undefined;
  private closeListeners: Array<(err?: Error) => void> | undefined;
  private closeError: Error | undefined;
  /** A frame arrived from the remote (it accepted the connection). */
  private heard = false;
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> | undefined;

  constructor(components: MuxComponents, info: MuxConnectionInfo, settings: MuxSettings) {
    this.c = components;
    this.id = info.id;
    this.remote = info.remote;
    this.remotePeer = info.remote.peer;
    this.remoteAddress = info.remoteAddress;
    this.direction = info.direction;
    this.transport = info.transport;
    this.version = info.version;
    this.settings = settings;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.table = new StreamTable(info.direction === 'outbound', settings);
    this.outbox = new Outbox(
      this,
      components.pipe,
      settings.sendBufferBytes,
      settings.maxControlBufferBytes,
    );
    this.timers = new Deadlines(
      this,
      components.clock,
      settings.keepaliveIntervalMs,
      settings.keepaliveTimeoutMs,
    );
    this.inbound = new InboundFrames(this, info.version, components.pipe.maxMessageBytes);
    this.flow = new Flow(this, this.outbox, settings);
  }

  /** Test and benchmark counters. */
  get counters(): MuxCounters {
    return this.outbox.counters;
  }

  /** This connection's logger (a child logger made on first use). */
  get log(): Logger {
    return (this.logger ??= this.c.logger.child({ conn: this.id }));
  }

  /** Open streams by id (empty before the first stream). */
  get open(): ReadonlyMap<number, MuxStream> {
    return this.table.open;
  }

  /** Starts reading, keepalive and the idle timer. */
  start(): void {
    this.c.pipe.start(this);
    // The listener pings at once: its first frame tells the dialer it was accepted. The dialer
    // pings once it heard from the listener, in one write with its answer and its first stream
    // (or after a keepalive interval if it hears nothing).
    if (this.direction === 'inbound' || this.heard) this.timers.pingNow();
    else {
      this.timers.pingAfter(
        Math.max(1, this.settings.keepaliveIntervalMs || this.settings.keepaliveTimeoutMs),
      );
    }
    this.armIdle();
  }

  /**
   * Resolves once the remote sent its first frame: it accepted the connection (a listener that
   * refuses our token closes instead). Rejects if the connection closes first.
   */
  ready(): Promise<void> {
    if (this.heard) return Promise.resolve();
    if (this.status === 'closed') {
      return Promise.reject(this.closeError ?? new ClosedError('The connection closed'));
    }
    return new Promise((resolve, reject) => (this.readyWaiters ??= []).push({ resolve, reject }));
  }

  // ---- public API -------------------------------------------------------------------------

  newStream(protocol: string, options: NewStreamOptions = {}): Promise<Stream> {
    try {
      return Promise.resolve(this.openStream(protocol, options));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  streams(): readonly Stream[] {
    return [...this.table.open.values()];
  }

  stats(): ConnectionStats {
    return {
      bytesSent: this.outbox.bytesSent,
      bytesReceived: this.bytesReceived,
      streamsOpened: this.table.opened,
      rttMs: this.timers.rttMs,
    };
  }

  setIdleTimeout(timeoutMs: number): void {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError('timeoutMs must be a finite number >= 0');
    }
    this.idleTimeoutMs = timeoutMs;
    this.timers.busy();
    this.armIdle();
  }

  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.status === 'closed') return Promise.resolve();
    this.closing ??= this.drainAndClose(options.signal, MuxErrorCode.MUX_ERROR_NONE);
    return this.closing;
  }

  abort(err?: Error): void {
    if (this.status === 'closed') return;
    // The caller knows where it aborted: the default reason carries no stack trace (capturing
    // one under a deep async stack costs more than the rest of the close).
    this.finish(err ?? stacklessError(() => new ClosedError('The connection was aborted')), true);
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.status !== 'closed') {
      if (this.closeListener === undefined) this.closeListener = listener;
      else (this.closeListeners ??= []).push(listener);
      return;
    }
    const err = this.closeError;
    queueMicrotask(() => listener(err));
  }

  // ---- StreamOwner ------------------------------------------------------------------------

  writeData(stream: MuxStream, chunk: Uint8Array, cb: (err?: Error | null) => void): void {
    if (this.status === 'closed') {
      cb(this.closeError ?? new ClosedError('The connection is closed'));
      return;
    }
    this.flow.write(stream, chunk, cb);
  }

  finishWrite(stream: MuxStream): void {
    if (this.status !== 'closed') this.control(MessageType.MuxFin, { streamId: stream.id });
  }

  consumed(stream: MuxStream): void {
    this.flow.consumed(stream);
  }

  destroyed(stream: MuxStream): void {
    if (!this.table.remove(stream)) return;
    this.flow.released(stream);
    if (!(stream.sendDone && stream.recvDone) && !stream.resetByRemote) {
      // Lazy: nothing waits for it; it rides with the next write (or goes with an abort).
      if (this.status !== 'closed') {
        this.outbox.control(
          encodeFrame(
            MessageType.MuxReset,
            { streamId: stream.id, code: MuxErrorCode.MUX_ERROR_CANCEL, reason: '' },
            { version: this.version },
          ),
          true,
        );
      }
    }
    if (this.table.open.size > 0) return;
    this.armIdle();
    this.releaseCloseWaiters();
    if (this.goAwayReceived && this.status === 'open') void this.close();
  }

  // ---- used by InboundFrames ----------------------------------------------------------------

  isClosed(): boolean {
    return this.status === 'closed';
  }

  /** Counts a frame received (for the test counters). */
  frameReceived(): void {
    this.outbox.framesReceived++;
    if (!this.heard) {
      this.heard = true;
      if (this.direction === 'outbound') {
        // A dialer hearing the listener first: what it queues now (the pong, its first ping)
        // waits for what the woken dial() caller queues (a stream open, data).
        this.outbox.deferNextFlush();
        this.timers.pingNow();
      }
      const waiters = this.readyWaiters;
      this.readyWaiters = undefined;
      for (const w of waiters ?? []) w.resolve();
    }
  }

  /** Takes a stream the remote opened (its id already checked): refuse it, or run its handler. */
  acceptStream(id: number, protocol: string, uni: boolean, remoteWindow: number): void {
    if (this.goAwaySent || this.status !== 'open' || !this.table.canAccept(uni)) {
      this.sendReset(id, MuxErrorCode.MUX_ERROR_REFUSED);
      return;
    }
    const handler = this.c.registry.handler(protocol);
    if (handler === undefined) {
      this.sendReset(id, MuxErrorCode.MUX_ERROR_UNKNOWN_PROTOCOL, protocol);
      return;
    }
    const window = this.settings.streamWindowBytes;
    const stream = new MuxStream(
      this,
      id,
      protocol,
      'inbound',
      uni,
      remoteWindow,
      window,
      STREAM_HWM,
    );
    if (window > BASE_WINDOW_BYTES) {
      // The opener assumes the base window until we say more.
      this.control(MessageType.MuxWindowUpdate, {
        streamId: id,
        creditBytes: window - BASE_WINDOW_BYTES,
      });
    }
    this.track(stream);
    try {
      const r: unknown = handler(stream, this);
      if (isThenable(r)) r.then(undefined, (err: unknown) => this.handlerFailed(stream, err));
    } catch (err) {
      this.handlerFailed(stream, err);
    }
  }

  /** The remote granted `credit` more bytes on `stream`: resume a write that waited for it. */
  onCredit(stream: MuxStream, credit: number): void {
    this.flow.credited(stream, credit, this.status === 'closed');
  }

  onPing(nonce: Uint8Array): void {
    this.control(MessageType.MuxPong, { nonce });
  }

  onPong(nonce: Uint8Array): void {
    this.timers.pong(nonce);
  }

  onGoAway(): void {
    this.goAwayReceived = true;
    if (this.open.size === 0) void this.close();
  }

  // ---- PipeHandlers, DeadlineOwner, OutboxOwner, FlowOwner ----------------------------------

  get rttMs(): number | undefined {
    return this.timers.rttMs;
  }

  grant(streamId: number, creditBytes: number): void {
    this.control(MessageType.MuxWindowUpdate, { streamId, creditBytes });
  }

  onMessage(plaintext: Uint8Array): void {
    this.inbound.push(plaintext);
  }

  onDrain(): void {
    this.outbox.drained();
  }

  onEnd(): void {
    this.onRemoteEnd();
  }

  onError(err: Error, penalty?: PenaltyReason): void {
    this.fail(err, penalty);
  }

  sendPing(nonce: Uint8Array): void {
    this.control(MessageType.MuxPing, { nonce });
  }

  keepaliveTimedOut(): void {
    this.fail(new TimeoutError('Keepalive: the remote did not answer in time'), 'timeout');
  }

  idleTimedOut(): void {
    if (this.open.size > 0 || this.status !== 'open') return;
    this.log.debug('idle timeout');
    this.closing ??= this.drainAndClose(undefined, MuxErrorCode.MUX_ERROR_IDLE_TIMEOUT);
  }

  dataHeader(streamId: number, bytes: number): Uint8Array {
    return encodeDataHeader(streamId, bytes, { version: this.version });
  }

  controlOverflow(): void {
    this.fail(
      new ProtocolViolationError('The remote does not read: too many control frames queued'),
      'rate-limit',
    );
  }

  /** Closes the connection because the remote broke the protocol, and reports it. */
  violation(message: string, penalty: PenaltyReason, cause?: unknown): void {
    if (this.status === 'closed') return;
    this.log.debug({ err: cause }, message);
    this.fail(
      new ProtocolViolationError(message, cause === undefined ? undefined : { cause }),
      penalty,
    );
  }

  /** Sends a reset for stream `id`. */
  sendReset(id: number, code: MuxErrorCode, reason = ''): void {
    this.control(MessageType.MuxReset, { streamId: id, code, reason: reason.slice(0, 128) });
  }

  /** Fails the connection with `err`, reporting `penalty` against the remote when given. */
  fail(err: Error, penalty?: PenaltyReason): void {
    if (this.status === 'closed') return;
    if (penalty !== undefined) this.c.reporter.penalize(this.remotePeer, penalty);
    if (!(err instanceof ProtocolViolationError)) {
      this.finish(err, true);
      return;
    }
    // Tell the remote why (best effort), then end the pipe.
    this.outbox.last(
      encodeFrame(
        MessageType.MuxGoAway,
        { lastStreamId: this.table.lastRemoteId, code: MuxErrorCode.MUX_ERROR_PROTOCOL },
        { version: this.version },
      ),
    );
    this.finish(err, false);
  }

  // ---- internals ----------------------------------------------------------------------------

  private openStream(protocol: string, options: NewStreamOptions): MuxStream {
    throwIfAborted(options.signal);
    checkProtocolName(protocol);
    if (this.status !== 'open' || this.goAwayReceived) {
      throw new ClosedError('The connection is closing');
    }
    const uni = options.unidirectional === true;
    const id = this.table.takeLocalId(uni);
    const window = this.settings.streamWindowBytes;
    this.control(MessageType.MuxOpen, {
      streamId: id,
      protocol,
      unidirectional: uni,
      windowBytes: window === BASE_WINDOW_BYTES ? 0 : window,
    });
    const stream = new MuxStream(
      this,
      id,
      protocol,
      'outbound',
      uni,
      BASE_WINDOW_BYTES,
      window,
      STREAM_HWM,
    );
    this.track(stream);
    return stream;
  }

  private control<T extends MessageType>(type: T, message: MessageInitByType[T]): void {
    this.outbox.control(encodeFrame(type, message, { version: this.version }));
  }

  private track(stream: MuxStream): void {
    this.table.add(stream);
    this.timers.busy();
  }

  private handlerFailed(stream: MuxStream, err: unknown): void {
    this.log.debug({ err, protocol: stream.protocol }, 'stream handler failed');
    if (stream.destroyed) return;
    if (this.table.open.get(stream.id) === stream && !(stream.sendDone && stream.recvDone)) {
      this.sendReset(stream.id, MuxErrorCode.MUX_ERROR_INTERNAL);
      stream.resetByRemote = true; // the reset is sent: no second one
    }
    stream.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  private armIdle(): void {
    if (this.status !== 'open' || this.open.size > 0) return;
    this.timers.idle(this.idleTimeoutMs);
  }

  private async drainAndClose(signal: AbortSignal | undefined, code: MuxErrorCode): Promise<void> {
    if (this.status === 'open') this.status = 'closing';
    this.goAwaySent = true;
    this.control(MessageType.MuxGoAway, { lastStreamId: this.table.lastRemoteId, code });
    if (this.open.size > 0) {
      const timeout =
        signal === undefined
          ? this.c.clock.setTimeout(() => this.releaseCloseWaiters(), this.settings.closeTimeoutMs)
          : undefined;
      const onAbort = (): void => this.releaseCloseWaiters();
      signal?.addEventListener('abort', onAbort, { once: true });
      await new Promise<void>((resolve) => (this.closeWaiters ??= []).push(resolve));
      timeout?.cancel();
      signal?.removeEventListener('abort', onAbort);
    }
    this.finish(undefined, false);
    if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason });
  }

  private releaseCloseWaiters(): void {
    const waiters = this.closeWaiters;
    if (waiters === undefined) return;
    this.closeWaiters = undefined;
    for (const w of waiters) w();
  }

  /** The remote ended its side. */
  onRemoteEnd(): void {
    // After a GoAway the remote's end is the expected end of a graceful close (streams still
    // open then fail with ClosedError); without one it is an abrupt close.
    if (this.goAwayReceived) this.finish(undefined, false);
    else
      this.finish(
        stacklessError(() => new ClosedError('The remote closed the connection')),
        false,
      );
  }

  /** Ends everything: streams error with `err` (or close cleanly), timers stop, the pipe closes. */
  private finish(err: Error | undefined, destroyPipe: boolean): void {
    if (this.status === 'closed') return;
    if (!destroyPipe) this.outbox.flush();
    this.status = 'closed';
    this.closeError = err;
    const waiters = this.readyWaiters;
    this.readyWaiters = undefined;
    for (const w of waiters ?? []) w.reject(err ?? new ClosedError('The connection closed'));
    this.timers.stop();
    const open = this.table.open;
    let streamErr = err;
    if (open.size > 0) {
      streamErr ??= new ClosedError('The connection closed');
      for (const s of [...open.values()]) {
        s.resetByRemote = true;
        s.destroy(streamErr);
      }
      this.table.clear();
    }
    this.outbox.close(streamErr);
    this.releaseCloseWaiters();
    if (destroyPipe) this.c.pipe.destroy();
    else this.c.pipe.end();
    const first = this.closeListener;
    const rest = this.closeListeners;
    this.closeListener = undefined;
    this.closeListeners = undefined;
    if (first !== undefined) this.notifyClosed(first, err);
    for (const l of rest ?? []) this.notifyClosed(l, err);
  }

  private notifyClosed(listener: (err?: Error) => void, err: Error | undefined): void {
    try {
      listener(err);
    } catch (e) {
      this.log.warn({ err: e }, 'close listener threw');
    }
  }
}
