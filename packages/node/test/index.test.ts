import { describe, expect, it } from '@jest/globals';
import { runDemo } from '../src/index.js';

describe('runDemo', () => {
  it('exchanges a message between two endpoints on loopback', async () => {
    const lines: string[] = [];
    const result = await runDemo((l) => lines.push(l));
    expect(result.message).toBe('ack: hello from endpoint A');
    expect(lines.some((l) => l.includes('received'))).toBe(true);
  });
});
