// What a mux connection waits for without I/O: the next keepalive ping, the answer to the last
// one, and the idle timeout. Every connection on one clock shares ONE clock timer (a min-heap of
// the connections by wake-up time, {@link DeadlineQueue}); a connection holds no timer. A deadline
// only ever moves its wake-up earlier; one that moved later or went away (a pong arrived, a stream
// opened) is simply found not due when the wake-up comes, and the connection asks for the
// earliest deadline left; a closed connection leaves the heap at once. So an idle connection is woken about once per keepalive interval, and
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

/** What the queue keeps of a connection's deadlines: its wake-up time and place in the heap. */
interface Queued {
  /** When it wants to be woken (Infinity: not queued). */
  wakeAt: number;
  /** Its index in the heap, -1 when not queued. */
  heapIndex: number;
  wake(now: number): void;
}

/**
 * The wake-ups of all connections on one clock, on one clock timer: a binary min-heap of the
 * connections themselves by wake-up time (each knows its index, so moving one earlier or removing
 * a closed one is O(log n), and nothing stale stays behind).
 */
class DeadlineQueue {
  private readonly heap: Queued[] = [];
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private running = false;
  private readonly fire = (): void => this.run();

  constructor(private readonly clock: Clock) {}

  /** Queues `d` for `at`, or moves it there (only ever earlier). */
  schedule(d: Queued, at: number): void {
    d.wakeAt = at;
    if (d.heapIndex === -1) {
      d.heapIndex = this.heap.length;
      this.heap.push(d);
    }
    this.up(d.heapIndex);
    if (!this.running && at < this.timerAt) this.arm(at);
  }

  /** Takes `d` out of the queue. */
  remove(d: Queued): void {
    const i = d.heapIndex;
    if (i === -1) return;
    const heap = this.heap;
    const last = heap.pop() as Queued;
    d.heapIndex = -1;
    d.wakeAt = Infinity;
    if (last === d) return;
    heap[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private set(i: number, d: Queued): void {
    this.heap[i] = d;
    d.heapIndex = i;
  }

  private up(i: number): void {
    const heap = this.heap;
    const d = heap[i] as Queued;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Queued;
      if (parent.wakeAt <= d.wakeAt) break;
      this.set(i, parent);
      i = p;
    }
    this.set(i, d);
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const d = heap[i] as Queued;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (heap[r] as Queued).wakeAt < (heap[l] as Queued).wakeAt ? r : l;
      const child = heap[c] as Queued;
      if (child.wakeAt >= d.wakeAt) break;
      this.set(i, child);
      i = c;
    }
    this.set(i, d);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const heap = this.heap;
    const now = this.clock.now();
    this.running = true;
    try {
      // Bounded: what a wake-up schedules lies in the future (every deadline is >= 1 ms away).
      for (let budget = heap.length; budget > 0 && heap.length > 0; budget--) {
        const d = heap[0] as Queued;
        if (d.wakeAt > now) break;
        this.remove(d);
        d.wake(now);
      }
    } finally {
      this.running = false;
      if (heap.length > 0) this.arm((heap[0] as Queued).wakeAt);
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

export class Deadlines implements Queued {
  /** Round trip of the last answered ping, in ms. */
  rttMs: number | undefined;
  private nonce = 0;
  /** Nonce of the ping awaiting its pong; -1 for none. */
  private outstanding = -1;
  private sentAt = 0;
  private nextPingAt = Infinity;
  private pongBy = Infinity;
  private idleAt = Infinity;
  /** @internal The queue's: when this connection is to be woken (Infinity: not queued). */
  wakeAt = Infinity;
  /** @internal The queue's: index in its heap (-1: not queued). */
  heapIndex = -1;
  private stopped = false;
  private readonly queue: DeadlineQueue;

  constructor(
    private readonly owner: DeadlineOwner,
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
    this.queue.remove(this);
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
    this.queue.schedule(this, at);
  }

  /** @internal The queue woke us (`now`), out of the queue: act on what is due, ask again. */
  wake(now: number): void {
    if (this.stopped) return;
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
