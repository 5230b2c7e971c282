import type { Config } from './core.js';
import type { ChannelState, Counters, PeerLike } from './entry.js';
import { newList } from './entry.js';
import { PRIORITIES } from './priority.js';
import { TokenBucket } from './rate-limit.js';

/**
 * The channel states of one peer queue, at most `maxChannelsPerPeer`: a new channel past the cap
 * takes the place of an idle one (nothing queued, quota full, so forgetting it loses nothing).
 */
export class Channels {
  private readonly map = new Map<string, ChannelState>();

  constructor(
    private readonly peer: PeerLike,
    private readonly config: Config,
    private readonly counters: (name: string) => Counters,
  ) {}

  /** @throws {RangeError} when every tracked channel is busy and the cap is reached */
  get(name: string, now: number): ChannelState {
    const found = this.map.get(name);
    if (found !== undefined) return found;
    if (this.map.size >= this.config.maxChannelsPerPeer) this.evictIdle(now);
    const limits = this.config.channelLimits;
    const limit = limits.has(name) ? limits.get(name) : this.config.defaultChannelLimit;
    const ch: ChannelState = {
      name,
      peer: this.peer,
      fifo: PRIORITIES.map(newList),
      inRing: PRIORITIES.map(() => false),
      queued: 0,
      bucket: limit === undefined ? undefined : new TokenBucket(limit, now),
      blocked: false,
      timer: undefined,
      counters: this.counters(name),
    };
    this.map.set(name, ch);
    return ch;
  }

  private evictIdle(now: number): void {
    for (const [name, ch] of this.map) {
      if (ch.queued === 0 && !ch.blocked && (ch.bucket === undefined || ch.bucket.full(now))) {
        this.map.delete(name);
        return;
      }
    }
    throw new RangeError(`more than ${this.config.maxChannelsPerPeer} busy channels to one peer`);
  }

  /** Cancels every quota timer (the queue closed). */
  cancelTimers(): void {
    for (const ch of this.map.values()) {
      ch.timer?.cancel();
      ch.timer = undefined;
    }
  }
}
