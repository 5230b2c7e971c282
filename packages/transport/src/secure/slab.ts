// Where the noise pipe seals a batch of messages before writing it: one reused slab of memory for
// every pipe of the process, carved into regions, instead of a fresh buffer per message.
//
// A fresh 64 KiB frame per message costs a malloc, a first touch of cold memory (often a page
// fault: the allocator hands freed memory back to the kernel between bursts) and a GC finalizer.
// A region of the slab is written while the slab is still in the CPU cache, and once every region
// handed out has been written by the socket the slab is reused from its start.
//
// A region is only held while its socket write is pending; a pipe whose socket is backed up
// writes exact-size buffers instead (see noise-pipe.ts), so a slow peer never pins a slab.

/** Bytes of one slab: sixteen messages of the largest size. */
export const SLAB_BYTES = 1 << 20;
/** Free slabs kept for reuse; more are left to the GC. */
const KEEP_FREE = 2;

/** A slab: its memory, the regions handed out and not yet written, and where the next starts. */
export class Slab {
  readonly buf: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Regions handed out whose write has not completed. */
  private held = 0;
  /** Start of the next region. */
  private end = 0;
  /** True once the slab is no longer the one regions are carved from. */
  private retired = false;
  /** True once a write from it failed: never reused. */
  private poisoned = false;

  /** Passed as the callback of a region's socket write (one function per slab, made once). */
  readonly written = (err?: Error | null): void => {
    this.held--;
    // After an error the write may not have run to its end: never reuse this memory.
    if (err) this.retired = this.poisoned = true;
    if (this.held > 0) return;
    if (this.retired) this.recycle();
    else this.end = 0;
  };

  /** Room left for the next region (none once a write from it failed). */
  room(): number {
    return this.poisoned ? 0 : SLAB_BYTES - this.end;
  }

  /** Start of the next region (sealing writes from here; {@link take} then claims it). */
  get offset(): number {
    return this.end;
  }

  /** Claims the `bytes` written at {@link offset}: a view to write, with {@link written} as its callback. */
  take(bytes: number): Buffer {
    const region = this.buf.subarray(this.end, this.end + bytes);
    this.end += bytes;
    this.held++;
    return region;
  }

  /** Stops carving from this slab; it is reused once its regions are written. */
  retire(): void {
    this.retired = true;
    if (this.held === 0) this.recycle();
  }

  /** A retired slab with nothing held goes back to the free list (unless poisoned or full). */
  private recycle(): void {
    if (this.poisoned || free.length >= KEEP_FREE) return;
    this.end = 0;
    this.retired = false;
    free.push(this);
  }
}

const free: Slab[] = [];
let current: Slab | undefined;

/** The slab to carve from, with at least `bytes` of room (a message of the largest size fits). */
export function slabWithRoom(bytes: number): Slab {
  let s = current;
  if (s !== undefined && s.room() >= bytes) return s;
  s?.retire();
  s = free.pop() ?? new Slab();
  current = s;
  return s;
}
