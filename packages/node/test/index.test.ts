import { describe, expect, it } from '@jest/globals';
import { runDemo } from '../src/index.js';

describe('runDemo', () => {
  it('runs a small network through every step and reports success', async () => {
    const lines: string[] = [];
    const ok = await runDemo({ nodes: 5, durationSec: 0, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain('demo: ok');
    expect(ok).toBe(true);
    for (const step of [
      'connect',
      'presence',
      'dht get',
      'pub/sub',
      'request/response',
      'acknowledged send',
      'offline delivery',
    ]) {
      expect(lines.some((l) => l.includes('✓') && l.includes(step))).toBe(true);
    }
  }, 60_000);
});
