// A bounded LRU of verified record payloads, keyed by table and key: a Map from key to node and
// a doubly-linked list in recency order, so get, set and eviction are O(1). (A bare Map used as
// an LRU — delete + set to touch, evict `keys().next()` — degrades badly under eviction churn,
// because V8 leaves holes at the front of the Map's entry table that every `keys().next()` skips.)
import type { CacheStats } from './types.js';

export interface CachedRecord {
  /** The value bytes (never handed out: callers get a decoded copy). */
  value: Uint8Array;
  expiresAtMs: number | undefined;
}

interface Node {
  key: string;
  record: CachedRecord;
  size: number;
  prev: Node | undefined;
  next: Node | undefined;
}

/** Fixed cost per entry added to its byte size, for the `maxBytes` budget. */
export const ENTRY_OVERHEAD_BYTES = 64;

export class LruCache {
  private readonly map = new Map<string, Node>();
  /** Most recently used. */
  private head: Node | undefined;
  /** Least recently used: evicted first. */
  private tail: Node | undefined;
  private bytes = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get enabled(): boolean {
    return this.maxEntries > 0 && this.maxBytes > 0;
  }

  private unlink(n: Node): void {
    if (n.prev === undefined) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === undefined) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = undefined;
    n.next = undefined;
  }

  private pushFront(n: Node): void {
    n.next = this.head;
    n.prev = undefined;
    if (this.head !== undefined) this.head.prev = n;
    this.head = n;
    if (this.tail === undefined) this.tail = n;
  }

  get(key: string): CachedRecord | undefined {
    const n = this.map.get(key);
    if (n === undefined) return undefined;
    if (this.head !== n) {
      this.unlink(n);
      this.pushFront(n);
    }
    return n.record;
  }

  set(key: string, record: CachedRecord): void {
    if (!this.enabled) return;
    this.delete(key);
    const size = key.length + record.value.length + ENTRY_OVERHEAD_BYTES;
    if (size > this.maxBytes) return;
    const n: Node = { key, record, size, prev: undefined, next: undefined };
    this.map.set(key, n);
    this.pushFront(n);
    this.bytes += size;
    while (
      (this.map.size > this.maxEntries || this.bytes > this.maxBytes) &&
      this.tail !== undefined
    ) {
      this.remove(this.tail);
      this.evictions++;
    }
  }

  private remove(n: Node): void {
    this.unlink(n);
    this.map.delete(n.key);
    this.bytes -= n.size;
  }

  delete(key: string): void {
    const n = this.map.get(key);
    if (n !== undefined) this.remove(n);
  }

  clear(): void {
    this.map.clear();
    this.head = undefined;
    this.tail = undefined;
    this.bytes = 0;
  }

  stats(): CacheStats {
    const total = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      entries: this.map.size,
      bytes: this.bytes,
      hitRate: total === 0 ? 0 : this.hits / total,
    };
  }
}
