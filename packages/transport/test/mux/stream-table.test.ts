// The stream table of a mux connection: id parity and order, limits per stream type, past ids.
import { describe, expect, it } from '@jest/globals';
import { StreamLimitError } from '@detr/interface';
import { StreamTable } from '../../src/mux/stream-table.js';
import type { MuxStream } from '../../src/mux/stream.js';

const limits = { maxBidirectionalStreams: 2, maxUnidirectionalStreams: 1 };
const stream = (id: number, unidirectional = false) => ({ id, unidirectional }) as MuxStream;

describe('stream table', () => {
  it('gives a dialer odd ids and a listener even ones, in increasing order', () => {
    const dialer = new StreamTable(true, limits);
    const listener = new StreamTable(false, limits);
    expect([dialer.takeLocalId(false), dialer.takeLocalId(false)]).toEqual([1, 3]);
    expect(listener.takeLocalId(false)).toBe(2);
    expect(dialer.isLocal(3)).toBe(true);
    expect(dialer.isLocal(2)).toBe(false);
  });

  it('enforces the limit of each type on open streams, not on streams ever opened', () => {
    const t = new StreamTable(true, limits);
    const a = stream(t.takeLocalId(false));
    t.add(a);
    t.add(stream(t.takeLocalId(false)));
    expect(() => t.takeLocalId(false)).toThrow(StreamLimitError);
    const u = stream(t.takeLocalId(true), true);
    t.add(u);
    expect(() => t.takeLocalId(true)).toThrow(StreamLimitError);
    expect(t.remove(a)).toBe(true);
    expect(t.remove(a)).toBe(false); // already gone
    expect(t.takeLocalId(false)).toBe(7);
    expect(t.opened).toBe(3);
    // Remote streams count against their own limits.
    expect(t.canAccept(true)).toBe(true);
    t.add(stream(2, true));
    expect(t.canAccept(true)).toBe(false);
    t.clear();
    expect(t.open.size).toBe(0);
    expect(t.canAccept(true)).toBe(true);
  });

  it('knows which ids existed once (frames for them may still be in flight)', () => {
    const t = new StreamTable(false, limits);
    expect(t.isPast(2)).toBe(false);
    t.takeLocalId(false);
    expect(t.isPast(2)).toBe(true);
    expect(t.isPast(4)).toBe(false);
    t.lastRemoteId = 5;
    expect(t.isPast(3)).toBe(true);
    expect(t.isPast(7)).toBe(false);
  });
});
