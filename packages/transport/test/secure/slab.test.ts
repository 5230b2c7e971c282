// The shared write slab of the noise pipe: regions are reused only after their socket writes
// completed, and never after a failed one.
import { describe, expect, it } from '@jest/globals';
import { SLAB_BYTES, slabWithRoom } from '../../src/secure/slab.js';

describe('write slab', () => {
  it('hands out regions back to back and starts over once all were written', () => {
    const s = slabWithRoom(1000);
    const start = s.offset;
    const a = s.take(1000);
    const b = s.take(500);
    expect(b.byteOffset).toBe(a.byteOffset + 1000);
    expect(slabWithRoom(1000)).toBe(s);
    s.written();
    expect(s.offset).toBe(start + 1500); // one region still being written
    s.written(null);
    expect(s.offset).toBe(0);
    expect(s.take(10).byteOffset).toBe(s.buf.byteOffset);
    s.written();
  });

  it('moves on to another slab when one is full, and reuses the full one once it is written', () => {
    const first = slabWithRoom(SLAB_BYTES);
    first.take(SLAB_BYTES - 100);
    const second = slabWithRoom(1000);
    expect(second).not.toBe(first);
    second.take(SLAB_BYTES - second.offset - 10);
    // The first is retired with a region held: not reused yet.
    const third = slabWithRoom(1000);
    expect(third).not.toBe(first);
    expect(third).not.toBe(second);
    first.written();
    second.written();
    third.take(SLAB_BYTES - third.offset);
    // A written, retired slab is reused from its start.
    const next = slabWithRoom(1000);
    expect([first, second]).toContain(next);
    expect(next.offset).toBe(0);
    third.written();
  });

  it('never reuses a slab one of whose writes failed', () => {
    const s = slabWithRoom(SLAB_BYTES);
    s.take(SLAB_BYTES - s.offset);
    const failed = slabWithRoom(1000);
    expect(failed).not.toBe(s);
    s.written();
    failed.take(100);
    failed.written(new Error('EPIPE'));
    // Retired at once; the next slab is another one, and so are all after it.
    const seen = new Set();
    for (let i = 0; i < 4; i++) {
      const x = slabWithRoom(i === 0 ? 1000 : SLAB_BYTES);
      expect(x).not.toBe(failed);
      seen.add(x);
      x.take(SLAB_BYTES - x.offset);
      x.written();
    }
    expect(seen.has(failed)).toBe(false);
  });
});
