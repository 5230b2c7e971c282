// What a mux connection waits for without I/O: the next keepalive ping, the answer to the last
// one, and the idle timeout. Every connection on one clock shares ONE clock timer (a min-heap of
// wake-ups, {@link DeadlineQueue}); a connection holds one heap entry, not a timer. A deadline
// only ever moves its wake-up earlier; one that moved later or went away (a pong arrived, a stream
// opened) is simply found not due when the wake-up comes, and the connection asks for the
// earliest deadline left. So an idle connection is woken about once per keepalive interval, and
// opening or closing streams never touches a timer.
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

interface WakeUp {
  at: number;
  d: Deadlines;
}

/** The wake-ups of all connections on one clock, on one clock timer (a min-heap by time). */
class DeadlineQueue {
  private readonly heap: WakeUp[] = [];
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private running = false;
  private readonly fire = (): void => this.run();

  constructor(private readonly clock: Clock) {}

  add(at: number, d: Deadlines): void {
    const heap = this.heap;
    const entry: WakeUp = { at, d };
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((heap[p] as WakeUp).at <= at) break;
      heap[i] = heap[p] as WakeUp;
      i = p;
    }
    heap[i] = entry;
    if (!this.running && at < this.timerAt) this.arm(at);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()));
  }

  private pop(): WakeUp {
    const heap = this.heap;
    const top = heap[0] as WakeUp;
    const last = heap.pop() as WakeUp;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (heap[r] as WakeUp).at < (heap[l] as WakeUp).at ? r : l;
      if ((heap[c] as WakeUp).at >= last.at) break;
      heap[i] = heap[c] as WakeUp;
      i = c;
    }
    heap[i] = last;
    return top;
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const heap = this.heap;
    const now = this.clock.now();
    this.running = true;
    try {
      // Bounded: what the wake-ups add lies in the future (every deadline is at least 1 ms away).
      for (let budget = heap.length; budget > 0 && heap.length > 0; budget--) {
        if ((heap[0] as WakeUp).at > now) break;
        const { at, d } = this.pop();
        d.wake(at, now);
      }
    } finally {
      this.running = false;
      if (heap.length > 0) this.arm((heap[0] as WakeUp).at);
    }
  }
}

const queues = new WeakMap<Clock, DeadlineQueue>();

function queueOf(clock: Clock): DeadlineQueue {
  let q = queues.get(clock);
  if (q === undefined) {
    q = new DeadlineQueue(clock);
    queues.set(clock, q);
  }
  return q;
}

/** Stands in for the connection once stopped, so a stale heap entry does not retain it. */
const STOPPED: DeadlineOwner = {
  sendPing() {},
  keepaliveTimedOut() {},
  idleTimedOut() {},
};

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
  /** The wake-up asked of the queue (Infinity: none); older entries in the heap are stale. */
  private wakeAt = Infinity;
  private stopped = false;
  private readonly queue: DeadlineQueue;

  constructor(
    private owner: DeadlineOwner,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    this.queue = queueOf(clock);
  }

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
    this.wakeAt = Infinity;
    this.owner = STOPPED;
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
    if (this.stopped || at === Infinity || this.wakeAt <= at) return;
    this.wakeAt = at;
    this.queue.add(at, this);
  }

  /** @internal A wake-up asked for `at` came (`now`): a stale one (moved earlier) is ignored. */
  wake(at: number, now: number): void {
    if (at !== this.wakeAt) return;
    this.wakeAt = Infinity;
    if (this.stopped) return;
    if (this.pongBy <= now) {
      const owner = this.owner;
      this.stop();
      owner.keepaliveTimedOut();
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
