// What a mux connection waits for without I/O, on ONE clock timer per connection: the next
// keepalive ping, the answer to the last one, and the idle timeout. A deadline only ever moves the
// timer earlier; one that moved later or went away (a pong arrived, a stream opened) is simply
// found not due when the timer fires, and the timer is armed again for the earliest deadline left.
// So an idle connection holds one timer, re-armed about once per keepalive interval, and opening
// or closing streams never touches it.
//
// Keepalive: one MuxPing at a time, each answered by a MuxPong carrying its nonce; the time
// between them is the round trip. Pings leave every `intervalMs` (from the previous ping, once it
// was answered); a ping unanswered for `timeoutMs` fails the connection.
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '@detr/interface';

/** What the deadlines call on their connection (methods: no closure per connection). */
export interface DeadlineOwner {
  /** Sends a MuxPing carrying `nonce`. */
  sendPing(nonce: Uint8Array): void;
  /** The last ping went unanswered for the keepalive timeout. */
  keepaliveTimedOut(): void;
  /** The idle deadline passed (the owner checks it is still idle). */
  idleTimedOut(): void;
}

export class Deadlines {
  /** Round trip of the last answered ping, in ms. */
  rttMs: number | undefined;
  private nonce = 0;
  /** Nonce of the ping awaiting its pong; -1 for none. */
  private outstanding = -1;
  private sentAt = 0;
  private nextPingAt = Infinity;
  private pongBy = Infinity;
  private idleAt = Infinity;
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private stopped = false;
  /** {@link run} bound once, on the first arm. */
  private fire: (() => void) | undefined;

  constructor(
    private readonly owner: DeadlineOwner,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Pings now, even with keepalive disabled: the round trip is known early, and its arrival tells
   * a dialer that the listener accepted the connection.
   */
  pingNow(): void {
    if (!this.stopped && this.outstanding === -1) this.ping(this.clock.now());
  }

  /** Pings after `delayMs` unless a ping leaves before. */
  pingAfter(delayMs: number): void {
    if (this.stopped) return;
    this.nextPingAt = this.clock.now() + delayMs;
    this.arm(this.nextPingAt);
  }

  /** A pong arrived. */
  pong(nonce: Uint8Array): void {
    if (this.outstanding === -1 || nonce.length !== 4) return;
    if (new DataView(nonce.buffer, nonce.byteOffset, 4).getUint32(0) !== this.outstanding) return;
    this.rttMs = performance.now() - this.sentAt;
    this.outstanding = -1;
    this.pongBy = Infinity;
    // A ping that came due while this one was unanswered leaves now.
    if (this.nextPingAt === Infinity && this.intervalMs > 0 && !this.stopped) {
      this.ping(this.clock.now());
    }
  }

  /** The connection is idle from now: it closes after `timeoutMs` (0: never) unless busy first. */
  idle(timeoutMs: number): void {
    if (this.stopped || timeoutMs === 0 || this.idleAt !== Infinity) return;
    this.idleAt = this.clock.now() + timeoutMs;
    this.arm(this.idleAt);
  }

  /** The connection is not idle (a stream opened, or the idle timeout changed). */
  busy(): void {
    this.idleAt = Infinity;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private ping(now: number): void {
    const n = (this.nonce = (this.nonce + 1) >>> 0);
    const nonce = new Uint8Array(4);
    new DataView(nonce.buffer).setUint32(0, n);
    this.outstanding = n;
    this.sentAt = performance.now();
    this.pongBy = now + this.timeoutMs;
    this.nextPingAt = this.intervalMs > 0 ? now + this.intervalMs : Infinity;
    this.owner.sendPing(nonce);
    this.arm(Math.min(this.pongBy, this.nextPingAt));
  }

  private arm(at: number): void {
    if (this.stopped || at === Infinity) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.fire ??= this.run.bind(this);
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    if (this.pongBy <= now) {
      this.stop();
      this.owner.keepaliveTimedOut();
      return;
    }
    if (this.nextPingAt <= now) {
      // One ping at a time: an unanswered one is followed by the next when its pong arrives.
      if (this.outstanding === -1) this.ping(now);
      else this.nextPingAt = Infinity;
    }
    if (this.idleAt <= now) {
      this.idleAt = Infinity;
      this.owner.idleTimedOut();
    }
    this.arm(Math.min(this.pongBy, this.nextPingAt, this.idleAt));
  }
}
