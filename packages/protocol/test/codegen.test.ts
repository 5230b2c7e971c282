import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/codegen.mjs', import.meta.url));

describe('codegen', () => {
  it('committed src/gen matches what proto/ generates', () => {
    const out = spawnSync(process.execPath, [script, '--check'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('src/gen matches proto/');
    expect(out.status).toBe(0);
  });
});
