import type { Timer } from '@detr/interface';
import type { Histogram } from './histogram.js';
import type { TokenBucket } from './rate-limit.js';
import type { Ring } from './ring.js';
import type { AbortOptions } from '@detr/interface';
import type { OutboundMessage } from './types.js';

export const WAITING = 0;
export const QUEUED = 1;
export const SENT = 2;
export const GONE = 3;

/** One message inside the scheduler: a waiter, then a queued message, then sent (or gone). */
export interface Entry {
  readonly message: OutboundMessage;
  readonly level: number;
  readonly bytes: number;
  readonly peer: PeerLike;
  readonly channel: ChannelState;
  readonly createdAt: number;
  state: number;
  resolve: () => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** p-queue's wrapper around our task, set when p-queue enqueues it. */
  run: (() => Promise<unknown>) | undefined;
  /** Links in a channel FIFO (queued) or a waiter list (waiting). */
  prev: Entry | undefined;
  next: Entry | undefined;
  /** Links in the peer's per-priority arrival-order list (queued). */
  aprev: Entry | undefined;
  anext: Entry | undefined;
}

/** The counters of one stats scope. */
export interface Counters {
  depth: number;
  bytes: number;
  sent: number;
  sentBytes: number;
  dropped: number;
  rejected: number;
  cancelled: number;
  failed: number;
  wait: Histogram;
}

export interface ChannelState {
  readonly name: string;
  readonly peer: PeerLike;
  /** One FIFO per priority level. */
  readonly fifo: List[];
  /** Whether this channel sits in its peer's ring of that level. */
  readonly inRing: boolean[];
  queued: number;
  readonly bucket: TokenBucket | undefined;
  blocked: boolean;
  timer: Timer | undefined;
  readonly counters: Counters;
}

/** What the fair queue needs to know about a peer queue. */
export interface PeerLike {
  readonly rings: Array<Ring<ChannelState>>;
  readonly inReady: boolean[];
  readonly depthAt: number[];
  closed: boolean;
  blocked: boolean;
  inflight: number;
}

export interface List {
  head: Entry | undefined;
  tail: Entry | undefined;
  length: number;
}

const unset = (): void => {};

/** A new entry in the WAITING state; the caller sets `resolve` and `reject`. */
export function newEntry(
  message: OutboundMessage,
  level: number,
  bytes: number,
  peer: PeerLike,
  channel: ChannelState,
  createdAt: number,
  options: AbortOptions,
): Entry {
  return {
    message,
    level,
    bytes,
    peer,
    channel,
    createdAt,
    state: WAITING,
    resolve: unset,
    reject: unset,
    signal: options.signal,
    onAbort: undefined,
    run: undefined,
    prev: undefined,
    next: undefined,
    aprev: undefined,
    anext: undefined,
  };
}

export const newList = (): List => ({ head: undefined, tail: undefined, length: 0 });

export function listPush(list: List, e: Entry): void {
  e.prev = list.tail;
  e.next = undefined;
  if (list.tail === undefined) list.head = e;
  else list.tail.next = e;
  list.tail = e;
  list.length++;
}

export function listRemove(list: List, e: Entry): void {
  if (e.prev === undefined) list.head = e.next;
  else e.prev.next = e.next;
  if (e.next === undefined) list.tail = e.prev;
  else e.next.prev = e.prev;
  e.prev = e.next = undefined;
  list.length--;
}

export function agePush(list: List, e: Entry): void {
  e.aprev = list.tail;
  e.anext = undefined;
  if (list.tail === undefined) list.head = e;
  else list.tail.anext = e;
  list.tail = e;
  list.length++;
}

export function ageRemove(list: List, e: Entry): void {
  if (e.aprev === undefined) list.head = e.anext;
  else e.aprev.anext = e.anext;
  if (e.anext === undefined) list.tail = e.aprev;
  else e.anext.aprev = e.aprev;
  e.aprev = e.anext = undefined;
  list.length--;
}
