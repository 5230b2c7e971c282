import { describe, expect, it } from '@jest/globals';
import {
  AbortError,
  ClosedError,
  DetrError,
  NotStartedError,
  TimeoutError,
  combineSignals,
  throwIfAborted,
} from '../src/index.js';

describe('errors', () => {
  it.each([
    [new AbortError(), 'AbortError', 'ABORTED'],
    [new TimeoutError(), 'TimeoutError', 'TIMEOUT'],
    [new NotStartedError(), 'NotStartedError', 'NOT_STARTED'],
    [new ClosedError(), 'ClosedError', 'CLOSED'],
  ])('%s has a stable name and code', (err, name, code) => {
    expect(err).toBeInstanceOf(DetrError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
  });

  it('throwIfAborted carries the reason as cause', () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal)).not.toThrow();
    ac.abort('why');
    try {
      throwIfAborted(ac.signal);
      throw new Error('unreachable');
    } catch (err) {
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).cause).toBe('why');
    }
  });

  it('combineSignals aborts when any input aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const s = combineSignals(a.signal, undefined, b.signal);
    expect(s.aborted).toBe(false);
    b.abort();
    expect(s.aborted).toBe(true);
    expect(combineSignals(a.signal)).toBe(a.signal);
  });
});
