// A QUIC connection as a detr Connection: native streams map to streams (stream.ts), and the
// first stream the dialer opened stays open as the control stream, carrying keepalive pings and
// the close handshake:
//
//   MuxGoAway #1  "I open no new stream"          (sent when close starts, or on the remote's #1)
//   MuxGoAway #2  "my streams are all finished"   (each side has read every FIN it will get)
//
// A side aborts the QUIC connection (which discards unsent data) only after sending its #2 and
// receiving the remote's #2, so no stream data is lost in a graceful close.
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
  Timer,
} from '@detr/interface';
import {
  AbortError,
  ClosedError,
  ProtocolViolationError,
  StreamLimitError,
  TimeoutError,
  throwIfAborted,
} from '@detr/interface';
import type { Frame, MessageInitByType } from '@detr/protocol';
import {
  MessageType,
  MuxErrorCode,
  ProtocolError,
  decodeMessage,
  encodeFrame,
} from '@detr/protocol';
import { Keepalive } from '../mux/keepalive.js';
import type { MuxSettings } from '../mux/options.js';
import { checkProtocolName } from '../protocol-name.js';
import type { NativeConnection, NativeStream } from './binding.js';
import { ControlChannel } from './control.js';
import { readHeaderFrame } from './native-frames.js';
import { QuicStream, type QuicStreamOwner } from './stream.js';
import { isThenable, raceSignal } from '../util.js';

export interface QuicConnectionComponents {
  registry: StreamRegistry;
  reporter: PeerReporter;
  clock: Clock;
  logger: Logger;
}

export interface QuicConnectionInfo {
  id: string;
  remote: RemoteInfo;
  remoteAddress: Address;
  direction: Direction;
  version: number;
  /** The control stream (the hello exchange is done) and the bytes read past the hello. */
  control: NativeStream;
  controlRest: Uint8Array;
}

const STREAM_HWM = 64 * 1024;
/** Most time an accepted stream may take to send its header. */
const HEADER_TIMEOUT_MS = 10_000;

export class QuicConnection implements Connection, QuicStreamOwner {
  readonly id: string;
  readonly remote: RemoteInfo;
  readonly remotePeer: RemoteInfo['peer'];
  readonly remoteAddress: Address;
  readonly direction: Direction;
  readonly transport = 'quic';
  status: ConnectionStatus = 'open';

  private readonly c: QuicConnectionComponents;
  private readonly native: NativeConnection;
  private readonly control: ControlChannel;
  private readonly settings: MuxSettings;
  private readonly version: number;
  private readonly log: Logger;
  private readonly keepalive: Keepalive;
  /** Streams whose native stream is not finished both ways (they count against limits). */
  private readonly live = new Set<QuicStream>();
  private readonly counts = { outBidi: 0, outUni: 0, inBidi: 0, inUni: 0 };
  private readonly counters = { bytesSent: 0, bytesReceived: 0 };
  private streamsOpened = 0;
  private idleTimeoutMs: number;
  private idleTimer: Timer | undefined;
  private goAwayReceived = 0;
  /** Highest stream id we opened (what our GoAway announces). */
  private lastLocalId = 0;
  /** Highest stream id the remote opened that reached us. */
  private highestRemoteId = 0;
  /** The highest id the remote says it opened (from its first GoAway). */
  private remoteLastOpened: number | undefined;
  private closing: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  private readonly closeListeners: Array<(err?: Error) => void> = [];
  private closeError: Error | undefined;
  /**
   * Resolves on the remote's first control frame (its initial ping): for the listener, the dialer
   * accepted our hello too. Inbound streams are accepted from then on.
   */
  readonly ready: Promise<void>;
  private readyDone: ((err?: Error) => void) | undefined;

  constructor(
    components: QuicConnectionComponents,
    info: QuicConnectionInfo,
    native: NativeConnection,
    settings: MuxSettings,
  ) {
    this.c = components;
    this.id = info.id;
    this.remote = info.remote;
    this.remotePeer = info.remote.peer;
    this.remoteAddress = info.remoteAddress;
    this.direction = info.direction;
    this.version = info.version;
    this.native = native;
    this.control = new ControlChannel(info.control, info.controlRest, info.version, {
      onFrame: (f) => this.onControlFrame(f),
      onEnd: () => {
        if (this.status === 'open' && this.goAwayReceived === 0) {
          this.violation('The remote closed the QUIC control stream');
        }
      },
      onMalformed: (err) => this.violation('Malformed frame on the control stream', err),
      onOverflow: () =>
        this.fail(
          new ProtocolViolationError('The remote does not read its control stream'),
          'rate-limit',
        ),
    });
    this.settings = settings;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.log = components.logger.child({ conn: info.id });
    this.keepalive = new Keepalive(
      components.clock,
      settings.keepaliveIntervalMs,
      settings.keepaliveTimeoutMs,
      (nonce) => this.sendControl(MessageType.MuxPing, { nonce }),
      () => this.fail(new TimeoutError('Keepalive: the remote did not answer in time'), 'timeout'),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyDone = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.ready.catch(() => {});
  }

  start(): void {
    this.control.start();
    // Several accepts pending at once, so a burst of opens is not serialized on one call.
    this.ready.then(
      () => {
        for (let i = 0; i < 2; i++) void this.acceptLoop();
      },
      () => {},
    );
    this.native.closed().then(
      () => this.onNativeClosed(),
      () => this.onNativeClosed(),
    );
    this.keepalive.start();
    this.armIdle();
  }

  // ---- Connection ---------------------------------------------------------------------------

  async newStream(protocol: string, options: NewStreamOptions = {}): Promise<Stream> {
    throwIfAborted(options.signal);
    checkProtocolName(protocol);
    if (this.status !== 'open' || this.goAwayReceived > 0) {
      throw new ClosedError('The connection is closing');
    }
    const uni = options.unidirectional === true;
    const limit = uni
      ? this.settings.maxUnidirectionalStreams
      : this.settings.maxBidirectionalStreams;
    const key = uni ? 'outUni' : 'outBidi';
    if (this.counts[key] >= limit) throw new StreamLimitError(limit);
    this.counts[key]++;
    let native: NativeStream;
    try {
      native = await raceSignal(this.native.outboundStream(), options.signal);
    } catch (err) {
      this.counts[key]--;
      throw (
        this.closeError ??
        (err instanceof AbortError
          ? err
          : new ClosedError('The QUIC connection closed', { cause: err }))
      );
    }
    const id = this.streamId(native, this.direction === 'outbound');
    this.lastLocalId = Math.max(this.lastLocalId, id);
    const header = encodeFrame(
      MessageType.MuxOpen,
      { streamId: id, protocol, unidirectional: uni },
      { version: this.version },
    );
    const stream = new QuicStream(this, {
      native,
      id,
      protocol,
      direction: 'outbound',
      unidirectional: uni,
      header,
      highWaterMark: STREAM_HWM,
      counters: this.counters,
    });
    this.track(stream);
    return stream;
  }

  streams(): readonly Stream[] {
    return [...this.live].filter((s) => !s.destroyed);
  }

  stats(): ConnectionStats {
    return {
      bytesSent: this.counters.bytesSent,
      bytesReceived: this.counters.bytesReceived,
      streamsOpened: this.streamsOpened,
      rttMs: this.keepalive.rttMs,
    };
  }

  setIdleTimeout(timeoutMs: number): void {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError('timeoutMs must be a finite number >= 0');
    }
    this.idleTimeoutMs = timeoutMs;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    this.armIdle();
  }

  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.status === 'closed') return Promise.resolve();
    this.closing ??= this.drainAndClose(options.signal, MuxErrorCode.MUX_ERROR_NONE);
    return this.closing;
  }

  abort(err?: Error): void {
    this.finish(err ?? new ClosedError('The connection was aborted'));
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.status !== 'closed') {
      this.closeListeners.push(listener);
      return;
    }
    const err = this.closeError;
    queueMicrotask(() => listener(err));
  }

  // ---- QuicStreamOwner ----------------------------------------------------------------------

  nativeDone(stream: QuicStream): void {
    if (!this.live.delete(stream)) return;
    const local = stream.direction === 'outbound';
    this.counts[`${local ? 'out' : 'in'}${stream.unidirectional ? 'Uni' : 'Bidi'}`]--;
    if (this.live.size > 0) return;
    this.armIdle();
    this.wake();
  }

  violation(message: string, cause?: unknown): void {
    if (this.status === 'closed') return;
    this.log.debug({ err: cause }, message);
    this.fail(
      new ProtocolViolationError(message, cause === undefined ? undefined : { cause }),
      cause instanceof ProtocolError ? 'invalid-message' : 'protocol-violation',
    );
  }

  failure(): Error | undefined {
    return this.status === 'closed' ? (this.closeError ?? new ClosedError()) : undefined;
  }

  // ---- inbound ------------------------------------------------------------------------------

  private async acceptLoop(): Promise<void> {
    while (this.status !== 'closed') {
      let native: NativeStream;
      try {
        native = await this.native.inboundStream();
      } catch {
        return; // the connection closed
      }
      void this.acceptStream(native);
    }
  }

  private async acceptStream(native: NativeStream): Promise<void> {
    const id = this.streamId(native, this.direction !== 'outbound');
    this.highestRemoteId = Math.max(this.highestRemoteId, id);
    let header: Awaited<ReturnType<typeof readHeaderFrame>>;
    const timer = this.c.clock.setTimeout(
      () => void native.stopRead().catch(() => {}),
      HEADER_TIMEOUT_MS,
    );
    try {
      header = await readHeaderFrame(native, {
        maxFrameBytes: 512,
        versions: [this.version],
        types: [MessageType.MuxOpen],
      });
    } catch (err) {
      if (err instanceof ProtocolError) this.violation(`QUIC stream ${id}: malformed header`, err);
      else void native.resetWrite().catch(() => {});
      return;
    } finally {
      timer.cancel();
    }
    if (header === undefined || this.status === 'closed') {
      void native.resetWrite().catch(() => {});
      return;
    }
    const open = decodeMessage(MessageType.MuxOpen, header.frame.body);
    const uni = open.unidirectional;
    const full = uni
      ? this.counts.inUni >= this.settings.maxUnidirectionalStreams
      : this.counts.inBidi >= this.settings.maxBidirectionalStreams;
    const handler = this.c.registry.handler(open.protocol);
    // While closing, streams the remote opened before it learned of it are still taken.
    const late = this.remoteLastOpened !== undefined && id > this.remoteLastOpened;
    if (late || full || handler === undefined) {
      const code =
        handler === undefined && !full && !late
          ? MuxErrorCode.MUX_ERROR_UNKNOWN_PROTOCOL
          : MuxErrorCode.MUX_ERROR_REFUSED;
      const reset = encodeFrame(
        MessageType.MuxReset,
        { streamId: id, code },
        { version: this.version },
      );
      void native
        .write(reset)
        .then(() => native.finishWrite())
        .then(() => native.stopRead())
        .catch(() => {});
      return;
    }
    const stream = new QuicStream(this, {
      native,
      id,
      protocol: open.protocol,
      direction: 'inbound',
      unidirectional: uni,
      initial: header.rest,
      highWaterMark: STREAM_HWM,
      counters: this.counters,
    });
    this.counts[uni ? 'inUni' : 'inBidi']++;
    this.track(stream);
    try {
      const r: unknown = handler(stream, this);
      if (isThenable(r)) r.then(undefined, (err: unknown) => this.handlerFailed(stream, err));
    } catch (err) {
      this.handlerFailed(stream, err);
    }
  }

  private onControlFrame(f: Frame): boolean {
    if (this.status === 'closed') return false;
    if (this.readyDone !== undefined) {
      this.readyDone();
      this.readyDone = undefined;
    }
    if (f.type === MessageType.MuxPing) {
      this.sendControl(MessageType.MuxPong, decodeMessage(MessageType.MuxPing, f.body));
    } else if (f.type === MessageType.MuxPong) {
      this.keepalive.pong(decodeMessage(MessageType.MuxPong, f.body).nonce);
    } else {
      const g = decodeMessage(MessageType.MuxGoAway, f.body);
      this.remoteLastOpened ??= g.lastStreamId;
      this.goAwayReceived++;
      this.closing ??= this.drainAndClose(undefined, MuxErrorCode.MUX_ERROR_NONE);
      this.wake();
    }
    return true;
  }

  private sendControl<T extends MessageType>(type: T, message: MessageInitByType[T]): void {
    if (this.status !== 'closed') this.control.send(type, message);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private streamId(native: NativeStream, dialerOpened: boolean): number {
    const index = Number(native.id());
    return index * 2 + (dialerOpened ? 1 : 2);
  }

  private track(stream: QuicStream): void {
    this.live.add(stream);
    this.streamsOpened++;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
  }

  private handlerFailed(stream: QuicStream, err: unknown): void {
    this.log.debug({ err, protocol: stream.protocol }, 'stream handler failed');
    stream.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  private armIdle(): void {
    if (this.idleTimer !== undefined || this.idleTimeoutMs === 0) return;
    if (this.status !== 'open' || this.live.size > 0) return;
    this.idleTimer = this.c.clock.setTimeout(() => {
      this.idleTimer = undefined;
      if (this.live.size > 0 || this.status !== 'open') return;
      this.closing ??= this.drainAndClose(undefined, MuxErrorCode.MUX_ERROR_IDLE_TIMEOUT);
    }, this.idleTimeoutMs);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `done()` holds, the signal aborts, or `timeoutMs` passes. */
  private async waitFor(
    done: () => boolean,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<void> {
    if (done()) return;
    const timer = this.c.clock.setTimeout(() => this.wake(), timeoutMs);
    const onAbort = (): void => this.wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!done() && signal?.aborted !== true && this.status !== 'closed') {
        const before = this.c.clock.now();
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        if (this.c.clock.now() - before >= timeoutMs) break;
      }
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async drainAndClose(signal: AbortSignal | undefined, code: MuxErrorCode): Promise<void> {
    if (this.status === 'open') this.status = 'closing';
    this.sendControl(MessageType.MuxGoAway, { lastStreamId: this.lastLocalId, code });
    const deadline = this.settings.closeTimeoutMs;
    // Drained: every stream either side opened (the remote's last one known from its GoAway)
    // reached us and finished.
    const drained = (): boolean =>
      this.live.size === 0 &&
      this.remoteLastOpened !== undefined &&
      this.highestRemoteId >= this.remoteLastOpened;
    await this.waitFor(drained, signal, deadline);
    if (this.status !== 'closed' && drained()) {
      this.sendControl(MessageType.MuxGoAway, { lastStreamId: this.lastLocalId, code });
      await this.waitFor(() => this.goAwayReceived >= 2, signal, deadline);
    }
    this.finish(undefined);
    if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason });
  }

  private onNativeClosed(): void {
    if (this.status === 'closed') return;
    if (this.status === 'closing' || this.goAwayReceived > 0) this.finish(undefined);
    else this.finish(new ClosedError('The remote closed the connection'));
  }

  private fail(err: Error, penalty?: PenaltyReason): void {
    if (this.status === 'closed') return;
    if (penalty !== undefined) this.c.reporter.penalize(this.remotePeer, penalty);
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.closeError = err;
    this.readyDone?.(err ?? new ClosedError('The connection closed'));
    this.readyDone = undefined;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    this.keepalive.stop();
    this.control.close();
    const streamErr = err ?? new ClosedError('The connection closed');
    for (const s of [...this.live]) s.destroy(streamErr);
    this.live.clear();
    this.wake();
    this.native.abort();
    for (const l of this.closeListeners.splice(0)) {
      try {
        l(err);
      } catch (e) {
        this.log.warn({ err: e }, 'close listener threw');
      }
    }
  }
}
