import type { Clock, Timer } from '@detr/interface';

/**
 * A token-bucket quota, as commonware's per-channel quotas: a sustained rate and a burst. Leave a
 * field out (or set it to `Infinity`) to leave that dimension unlimited.
 *
 * @example
 * ```ts
 * const gossip: RateLimit = { messagesPerSec: 100, bytesPerSec: 256 * 1024, burstMessages: 200 }
 * ```
 */
export interface RateLimit {
  /** Sustained messages per second. @default Infinity */
  messagesPerSec?: number;
  /** Sustained bytes per second. @default Infinity */
  bytesPerSec?: number;
  /** Messages that may go at once after a quiet period. @default one second's worth (at least 1) */
  burstMessages?: number;
  /** Bytes that may go at once after a quiet period. @default one second's worth (at least 1) */
  burstBytes?: number;
}

const positive = (name: string, v: number | undefined, fallback: number): number => {
  const value = v ?? fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number or Infinity, got ${String(v)}`);
  }
  return value;
};

/**
 * A token bucket on an injected clock, with two dimensions (messages, bytes). It works on credit:
 * a message may go while at least one message token is left and the byte balance is positive; it
 * then takes its full size, possibly driving the byte balance below zero, which later messages
 * wait out. A message larger than the burst is therefore never stuck, and the long-run rate is
 * exact; a burst may exceed `burstBytes` by less than one message.
 */
export class TokenBucket {
  private readonly msgRate: number;
  private readonly msgBurst: number;
  private readonly byteRate: number;
  private readonly byteBurst: number;
  private msgs: number;
  private bytes: number;
  private last: number;

  constructor(limit: RateLimit, nowMs: number) {
    this.msgRate = positive('messagesPerSec', limit.messagesPerSec, Infinity);
    this.byteRate = positive('bytesPerSec', limit.bytesPerSec, Infinity);
    this.msgBurst = Number.isFinite(this.msgRate)
      ? positive('burstMessages', limit.burstMessages, Math.max(1, this.msgRate))
      : Infinity;
    this.byteBurst = Number.isFinite(this.byteRate)
      ? positive('burstBytes', limit.burstBytes, Math.max(1, this.byteRate))
      : Infinity;
    if (this.msgBurst < 1) throw new RangeError('burstMessages must be at least 1');
    this.msgs = this.msgBurst;
    this.bytes = this.byteBurst;
    this.last = nowMs;
  }

  /** True when `limit` leaves both dimensions unlimited (no bucket is needed). */
  static unlimited(limit: RateLimit | undefined): boolean {
    if (limit === undefined) return true;
    const m = limit.messagesPerSec ?? Infinity;
    const b = limit.bytesPerSec ?? Infinity;
    // Validate even when unlimited, so a typo fails at construction.
    positive('messagesPerSec', m, Infinity);
    positive('bytesPerSec', b, Infinity);
    return m === Infinity && b === Infinity;
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.last;
    if (elapsed <= 0) return; // a clock going backwards never adds tokens
    this.last = nowMs;
    if (this.msgBurst !== Infinity && this.msgs < this.msgBurst) {
      this.msgs = Math.min(this.msgBurst, this.msgs + (elapsed * this.msgRate) / 1000);
    }
    if (this.byteBurst !== Infinity && this.bytes < this.byteBurst) {
      this.bytes = Math.min(this.byteBurst, this.bytes + (elapsed * this.byteRate) / 1000);
    }
  }

  /** True when a message may go now. */
  ready(nowMs: number): boolean {
    this.refill(nowMs);
    return this.msgs >= 1 && this.bytes > 0;
  }

  /** Charges one message of `bytes` (call after {@link ready} said yes). */
  take(bytes: number, nowMs: number): void {
    this.refill(nowMs);
    this.msgs -= 1;
    this.bytes -= bytes;
  }

  /** Takes one message of `bytes` if the bucket allows it now; false (nothing taken) otherwise. */
  tryTake(bytes: number, nowMs: number): boolean {
    if (!this.ready(nowMs)) return false;
    this.msgs -= 1;
    this.bytes -= bytes;
    return true;
  }

  /** Milliseconds until {@link ready} turns true (at least 1 when it is false now). */
  delayMs(nowMs: number): number {
    this.refill(nowMs);
    let wait = 0;
    if (this.msgs < 1) wait = Math.max(wait, ((1 - this.msgs) * 1000) / this.msgRate);
    if (this.bytes <= 0)
      wait = Math.max(wait, Math.floor((-this.bytes * 1000) / this.byteRate) + 1);
    return wait === 0 ? 0 : Math.max(1, Math.ceil(wait));
  }

  /** True when the bucket is full, i.e. forgetting it loses nothing. */
  full(nowMs: number): boolean {
    this.refill(nowMs);
    return this.msgs >= this.msgBurst && this.bytes >= this.byteBurst;
  }
}

/**
 * Calls `onReady` once `bucket` allows a message again, re-arming if the clock's timer fired early
 * by rounding; `closed()` true at any firing stops it silently.
 */
export function whenReady(
  clock: Clock,
  bucket: TokenBucket,
  closed: () => boolean,
  onReady: () => void,
): Timer {
  const handle = { timer: undefined as Timer | undefined };
  const arm = (): void => {
    handle.timer = clock.setTimeout(() => {
      if (closed()) return;
      if (bucket.ready(clock.now())) onReady();
      else arm();
    }, bucket.delayMs(clock.now()));
  };
  arm();
  return { cancel: () => handle.timer?.cancel() };
}
