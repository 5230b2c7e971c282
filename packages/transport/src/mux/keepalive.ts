// Keepalive: one MuxPing at a time, each answered by a MuxPong carrying its nonce; the time
// between them is the round trip. A ping unanswered for `timeoutMs` fails the connection.
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '@detr/interface';

export class Keepalive {
  rttMs: number | undefined;
  private nonce = 0;
  private outstanding: number | undefined;
  private sentAt = 0;
  private next: Timer | undefined;
  private deadline: Timer | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly send: (nonce: Uint8Array) => void,
    private readonly onTimeout: () => void,
  ) {}

  /**
   * Sends the first ping now, even with keepalive disabled: the round trip is known early, and
   * its arrival tells the dialer that the listener accepted the connection.
   */
  start(): void {
    this.ping();
  }

  /** A pong arrived. */
  pong(nonce: Uint8Array): void {
    if (this.outstanding === undefined || nonce.length !== 4) return;
    if (new DataView(nonce.buffer, nonce.byteOffset, 4).getUint32(0) !== this.outstanding) return;
    this.rttMs = performance.now() - this.sentAt;
    this.outstanding = undefined;
    this.deadline?.cancel();
    this.deadline = undefined;
    if (!this.stopped && this.intervalMs > 0) {
      this.next = this.clock.setTimeout(() => this.ping(), this.intervalMs);
    }
  }

  stop(): void {
    this.stopped = true;
    this.next?.cancel();
    this.deadline?.cancel();
    this.next = this.deadline = undefined;
  }

  private ping(): void {
    this.next = undefined;
    if (this.stopped) return;
    const n = (this.nonce = (this.nonce + 1) >>> 0);
    const nonce = new Uint8Array(4);
    new DataView(nonce.buffer).setUint32(0, n);
    this.outstanding = n;
    this.sentAt = performance.now();
    this.send(nonce);
    this.deadline = this.clock.setTimeout(() => {
      this.deadline = undefined;
      if (!this.stopped) this.onTimeout();
    }, this.timeoutMs);
  }
}
