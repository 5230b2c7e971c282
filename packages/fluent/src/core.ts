import type { Clock, Logger } from '@detr/interface';
import type PQueue from 'p-queue';
import type { Counters } from './entry.js';
import type { FairQueue, FluentAddOptions } from './fair-queue.js';
import type { FullPolicy } from './priority.js';
import type { RateLimit } from './rate-limit.js';
import type { SchedulerEvents } from './types.js';

/** The scheduler's options after defaults and validation, indexed by level where it applies. */
export interface Config {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxWaiting: number;
  readonly maxWaitingBytes: number;
  readonly policy: readonly FullPolicy[];
  /** Messages / bytes a queue may hold when admitting a message of each level. */
  readonly capMessages: readonly number[];
  readonly capBytes: readonly number[];
  readonly peerLimit: RateLimit | undefined;
  readonly channelLimits: ReadonlyMap<string, RateLimit | undefined>;
  readonly defaultChannelLimit: RateLimit | undefined;
  readonly maxInFlightPerPeer: number;
  readonly maxChannelsPerPeer: number;
  readonly highMessages: number;
  readonly highBytes: number;
  readonly lowMessages: number;
  readonly lowBytes: number;
  readonly congestionMs: number;
}

/** What a peer queue shares with its scheduler. */
export interface Core {
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: Config;
  readonly fq: FairQueue;
  readonly pq: PQueue<FairQueue, FluentAddOptions>;
  readonly levels: readonly Counters[];
  readonly total: Counters;
  running: boolean;
  congestedPeers: number;
  channelCounters(name: string): Counters;
  /** Makes p-queue look for sendable messages again (after a quota refilled). */
  kick(): void;
  emit<E extends keyof SchedulerEvents>(event: E, payload: SchedulerEvents[E]): void;
  /** Called by a queue that closed. */
  forget(key: string): void;
}
