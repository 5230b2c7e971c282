// `npm run bench [-- <filter>...] [--quick]`: every benchmark module under src/benches, each in its
// own process, detr and anchors side by side, printing `name: value unit` and `ratio.*` lines.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const filters = args.filter((a) => !a.startsWith('--'));
const modules = readdirSync(join(here, 'benches'))
  .filter((f) => f.endsWith('.ts'))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

let failed = 0;
for (const file of modules) {
  process.stdout.write(`# ${file}\n`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--conditions=@detr/source',
        '--import',
        'tsx',
        join(here, 'run-one.ts'),
        join(here, 'benches', file),
        ...flags,
      ],
      { stdio: 'inherit' },
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    failed++;
    process.stdout.write(`# ${file} failed with exit code ${code}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
