// Upper bounds (ms) of the histogram buckets: 0, then 10 per decade (1, 1.2, 1.5, 2, 2.5, 3, 4,
// 5, 6, 8 × 10^k) up to 10^7 ms (~2.8 h); one overflow bucket above.
const STEPS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8];
const BOUNDS: readonly number[] = (() => {
  const b = [0];
  for (let k = 0; k < 7; k++) for (const s of STEPS) b.push(Math.round(s * 10 ** k * 10) / 10);
  b.push(1e7);
  return b;
})();

/** Counts are halved whenever their total reaches this, so percentiles follow recent traffic. */
const DECAY_AT = 1 << 16;

/**
 * A fixed-size log-bucket histogram of durations in milliseconds (≈300 bytes, O(1) record).
 * Percentiles are reported as the upper bound of the bucket they fall in (exact to ±12.5 %).
 */
export class Histogram {
  private readonly counts = new Uint32Array(BOUNDS.length + 1);
  private total = 0;

  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    let lo = 0;
    let hi = BOUNDS.length; // index BOUNDS.length is the overflow bucket
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((BOUNDS[mid] as number) >= v) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo] = (this.counts[lo] as number) + 1;
    if (++this.total >= DECAY_AT) {
      this.total = 0;
      for (let i = 0; i < this.counts.length; i++) {
        const c = (this.counts[i] as number) >>> 1;
        this.counts[i] = c;
        this.total += c;
      }
    }
  }

  /** The p-th percentile (0–100), or 0 when nothing was recorded. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return i < BOUNDS.length ? (BOUNDS[i] as number) : Infinity;
    }
    return Infinity;
  }
}
