import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

  it('combineSignals fires a timeout nothing else holds, even after garbage collections', () => {
    // Node 20's AbortSignal.any holds its sources weakly: without combineSignals keeping them,
    // none of these fired once GC ran (nodejs/node#57736). In a child process: jest's realm
    // keeps objects alive that a plain process lets go.
    const script = `
      import { combineSignals } from '@detr/interface';
      import { setFlagsFromString } from 'node:v8';
      import { runInNewContext } from 'node:vm';
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      let fired = 0;
      const held = [];
      for (let i = 0; i < 20; i++) {
        const s = combineSignals(AbortSignal.timeout(20), new AbortController().signal);
        s.addEventListener('abort', () => fired++);
        held.push(s);
      }
      for (let k = 0; k < 10; k++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
      for (let k = 0; k < 50 && fired < 20; k++) await new Promise((r) => setTimeout(r, 20));
      process.stdout.write(fired + ' ' + held.length);`;
    const out = execFileSync(
      process.execPath,
      ['--conditions=@detr/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 60_000 },
    );
    expect(out.trim()).toBe('20 20');
  }, 60_000);
});
