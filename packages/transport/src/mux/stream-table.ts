// The streams of one multiplexed connection: open streams by id, the ids each side may still use
// (ours odd when we dialed, even when we accepted, each side increasing), and the per-type
// counts the stream limits are checked against. Protocol frames are the connection's business.
import { StreamLimitError } from '@detr/interface';
import type { MuxStream } from './stream.js';

const EMPTY: ReadonlyMap<number, MuxStream> = new Map();

/** The limits a table enforces (from the mux settings). */
export interface StreamLimits {
  maxBidirectionalStreams: number;
  maxUnidirectionalStreams: number;
}

export class StreamTable {
  /** Open streams by id; created with the first stream (an idle connection holds no Map). */
  private byId: Map<number, MuxStream> | undefined;
  /** Next id we open. */
  private nextLocalId: number;
  /** Highest id the remote opened so far. */
  lastRemoteId = 0;
  /** Streams opened in the connection's lifetime, both sides. */
  opened = 0;
  private outBidi = 0;
  private outUni = 0;
  private inBidi = 0;
  private inUni = 0;

  constructor(
    private readonly outbound: boolean,
    private readonly limits: StreamLimits,
  ) {
    this.nextLocalId = outbound ? 1 : 2;
  }

  /** Open streams by id (empty before the first stream). */
  get open(): ReadonlyMap<number, MuxStream> {
    return this.byId ?? EMPTY;
  }

  /** True when `id` was opened by us (its parity is ours). */
  isLocal(id: number): boolean {
    return (id & 1) === (this.outbound ? 1 : 0);
  }

  /** True when `id` belongs to a stream that existed once (frames for it may still be in flight). */
  isPast(id: number): boolean {
    return this.isLocal(id) ? id < this.nextLocalId : id <= this.lastRemoteId;
  }

  /**
   * The id of a stream we open now, counted against the limit of its type.
   *
   * @throws {StreamLimitError} when that limit (or the id space) is used up
   */
  takeLocalId(uni: boolean): number {
    const limit = uni ? this.limits.maxUnidirectionalStreams : this.limits.maxBidirectionalStreams;
    if ((uni ? this.outUni : this.outBidi) >= limit || this.nextLocalId > 0xffff_ffff) {
      throw new StreamLimitError(limit);
    }
    const id = this.nextLocalId;
    this.nextLocalId += 2;
    return id;
  }

  /** True while the remote may open one more stream of this type. */
  canAccept(uni: boolean): boolean {
    return uni
      ? this.inUni < this.limits.maxUnidirectionalStreams
      : this.inBidi < this.limits.maxBidirectionalStreams;
  }

  /** Adds a stream just opened (by either side). */
  add(stream: MuxStream): void {
    (this.byId ??= new Map()).set(stream.id, stream);
    this.opened++;
    this.count(stream, 1);
  }

  /** Removes `stream`; false when it was not (or no longer) in the table. */
  remove(stream: MuxStream): boolean {
    const byId = this.byId;
    if (byId === undefined || byId.get(stream.id) !== stream) return false;
    byId.delete(stream.id);
    this.count(stream, -1);
    return true;
  }

  /** Empties the table (once the connection destroyed what was open). */
  clear(): void {
    this.byId?.clear();
    this.outBidi = this.outUni = this.inBidi = this.inUni = 0;
  }

  private count(stream: MuxStream, delta: number): void {
    if (this.isLocal(stream.id)) {
      if (stream.unidirectional) this.outUni += delta;
      else this.outBidi += delta;
    } else if (stream.unidirectional) this.inUni += delta;
    else this.inBidi += delta;
  }
}
