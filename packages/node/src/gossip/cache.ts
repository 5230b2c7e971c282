// The seen-cache (deduplication, bounded by count and time) and the message cache (recent
// messages by heartbeat window, served to IWANT and advertised in IHAVE).
import type { GossipMessageInit } from '@detr/protocol';

/** Remembers message ids for `ttlMs`, at most `max` of them (oldest forgotten first). */
export class SeenCache {
  private readonly entries = new Map<string, number>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}
  /** True if `id` was already seen; otherwise records it. */
  check(id: string, nowMs: number): boolean {
    if (this.entries.has(id)) return true;
    this.entries.set(id, nowMs + this.ttlMs);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return false;
  }
  has(id: string): boolean {
    return this.entries.has(id);
  }
  /** Forgets expired ids (insertion order = expiry order). */
  expire(nowMs: number): void {
    for (const [id, at] of this.entries) {
      if (at > nowMs) break;
      this.entries.delete(id);
    }
  }
  get size(): number {
    return this.entries.size;
  }
}

export interface CachedMessage {
  readonly topic: string;
  readonly message: GossipMessageInit;
}

/**
 * Recent messages in `history` heartbeat windows; the first `gossip` windows are advertised. At
 * most `max` messages: past it the oldest is forgotten.
 */
export class MessageCache {
  private readonly windows: Array<Map<string, CachedMessage>> = [new Map<string, CachedMessage>()];
  private readonly byId = new Map<string, CachedMessage>();
  constructor(
    private readonly history: number,
    private readonly gossip: number,
    private readonly max = Infinity,
  ) {}
  put(id: string, entry: CachedMessage): void {
    if (this.byId.has(id)) return;
    if (this.byId.size >= this.max) this.evictOldest();
    this.byId.set(id, entry);
    (this.windows[0] as Map<string, CachedMessage>).set(id, entry);
  }
  get size(): number {
    return this.byId.size;
  }
  private evictOldest(): void {
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const w = this.windows[i] as Map<string, CachedMessage>;
      const oldest = w.keys().next().value;
      if (oldest === undefined) continue;
      w.delete(oldest);
      this.byId.delete(oldest);
      return;
    }
  }
  get(id: string): CachedMessage | undefined {
    return this.byId.get(id);
  }
  /** Ids of `topic` in the gossip windows. */
  gossipIds(topic: string): string[] {
    const out: string[] = [];
    for (const w of this.windows.slice(0, this.gossip)) {
      for (const [id, e] of w) if (e.topic === topic) out.push(id);
    }
    return out;
  }
  shift(): void {
    this.windows.unshift(new Map<string, CachedMessage>());
    while (this.windows.length > this.history) {
      const old = this.windows.pop();
      for (const id of old?.keys() ?? []) this.byId.delete(id);
    }
  }
}
