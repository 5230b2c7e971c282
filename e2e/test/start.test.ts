// The README's main command, run as users run it: `npm start` in a separate process.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm start', () => {
  it('runs the demo to completion and exits 0', () => {
    const out = spawnSync(process.execPath, ['tools/scripts/start.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('demo: ok');
  }, 130_000);
});
