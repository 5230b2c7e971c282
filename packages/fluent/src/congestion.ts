import type { Clock, PeerId, Timer } from '@detr/interface';
import type { CongestionEvent } from './types.js';

const CLEAR = 0;
const RISING = 1;
const CONGESTED = 2;

/** Marks (in messages and bytes) and how long a queue must stay above the high one. */
export interface CongestionMarks {
  readonly highMessages: number;
  readonly highBytes: number;
  readonly lowMessages: number;
  readonly lowBytes: number;
  readonly congestionMs: number;
}

/**
 * Sustained-congestion detection for one queue, with hysteresis: crossing the high-water mark (or
 * having callers waiting) arms a timer; if the queue has not fallen back to the low-water mark
 * when it fires, `start` is reported; falling back to the low-water mark reports `end`.
 */
export class CongestionTracker {
  private state = CLEAR;
  private risingSince = 0;
  private congestedSince = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly marks: CongestionMarks,
    private readonly peer: PeerId,
    /** The queue's state now: what the events carry. */
    private readonly probe: () => { depth: number; bytes: number; waiting: number },
    private readonly report: (kind: 'start' | 'end', event: CongestionEvent) => void,
  ) {}

  get congested(): boolean {
    return this.state === CONGESTED;
  }

  /** Called whenever the queue's depth, bytes or waiters change. */
  update(depth: number, bytes: number, waiting: number): void {
    const m = this.marks;
    if (this.state === CLEAR) {
      if (depth >= m.highMessages || bytes >= m.highBytes || waiting > 0) {
        this.state = RISING;
        this.risingSince = this.clock.now();
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.state = CONGESTED;
          this.congestedSince = this.clock.now();
          this.report('start', this.event(this.congestedSince - this.risingSince));
        }, m.congestionMs);
      }
    } else if (depth <= m.lowMessages && bytes <= m.lowBytes && waiting === 0) {
      this.clear();
    }
  }

  /** Back to clear (the queue drained or closed); reports `end` if it was congested. */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const was = this.state;
    this.state = CLEAR;
    if (was === CONGESTED) {
      this.report('end', this.event(this.clock.now() - this.congestedSince));
    }
  }

  private event(durationMs: number): CongestionEvent {
    return { peer: this.peer, ...this.probe(), durationMs };
  }
}
