// The small version of the fuzzer (the full run: `npx nx run @detr/protocol:fuzz`).
import { describe, expect, it } from '@jest/globals';
import { fuzzTargets, runFuzz } from '../scripts/fuzz-engine.js';
import { MESSAGE_NAMES } from './fixtures/arbitraries.js';

describe('fuzz (short run)', () => {
  it('covers every message decoder, both frame decoders and the MuxData fast path', () => {
    const names = fuzzTargets(1).map((t) => t.name);
    for (const m of MESSAGE_NAMES) expect(names).toContain(`message:${m}`);
    expect(names).toEqual(
      expect.arrayContaining(['frame:decodeFrame+body', 'frame:streaming', 'mux:decodeMuxData']),
    );
  });

  it('finds no failure in 30,000 mutated inputs', () => {
    const report = runFuzz({ executions: 30_000, seed: 20_251_121 });
    expect(report.examples).toEqual([]);
    expect(report.failures).toBe(0);
    expect(report.executions).toBe(30_000);
    // The mutations reach both valid messages and every kind of rejection.
    expect(report.outcomes['ok']).toBeGreaterThan(100);
    for (const code of ['MALFORMED', 'TRUNCATED', 'INVALID_FIELD', 'FRAME_TOO_LARGE']) {
      expect([code, (report.outcomes[code] ?? 0) > 0]).toEqual([code, true]);
    }
  });

  it('counts and reports a decoder that throws something other than ProtocolError', () => {
    const broken = {
      name: 'broken',
      seeds: [Uint8Array.of(1, 2, 3)],
      run: (input: Uint8Array): string => {
        if (input.length % 2 === 0) throw new TypeError('boom');
        return 'ok';
      },
    };
    const report = runFuzz({ executions: 200, seed: 1, targets: [broken] });
    expect(report.failures).toBeGreaterThan(0);
    expect(report.examples[0]).toMatchObject({ target: 'broken', error: 'TypeError: boom' });
    expect(report.outcomes['FAILURE']).toBe(report.failures);
  });
});
