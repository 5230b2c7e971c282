// A bounded LRU of verified record payloads, keyed by table and key. Map iteration order is
// insertion order, so "touch" is delete + set and the eviction victim is the first key.
import type { CacheStats } from './types.js';

export interface CachedRecord {
  /** The value bytes (never handed out: callers get a decoded copy). */
  value: Uint8Array;
  expiresAtMs: number | undefined;
}

/** Fixed cost per entry added to its byte size, for the `maxBytes` budget. */
const ENTRY_OVERHEAD_BYTES = 64;

export class LruCache {
  private readonly map = new Map<string, CachedRecord>();
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

  private static size(key: string, r: CachedRecord): number {
    return key.length + r.value.length + ENTRY_OVERHEAD_BYTES;
  }

  get(key: string): CachedRecord | undefined {
    const r = this.map.get(key);
    if (r === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, r);
    return r;
  }

  set(key: string, r: CachedRecord): void {
    if (!this.enabled) return;
    const size = LruCache.size(key, r);
    if (size > this.maxBytes) {
      this.delete(key);
      return;
    }
    this.delete(key);
    this.map.set(key, r);
    this.bytes += size;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done === true) break;
      this.delete(first.value);
      this.evictions++;
    }
  }

  delete(key: string): void {
    const r = this.map.get(key);
    if (r === undefined) return;
    this.map.delete(key);
    this.bytes -= LruCache.size(key, r);
  }

  clear(): void {
    this.map.clear();
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
