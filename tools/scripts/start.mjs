#!/usr/bin/env node
// `npm start`: runs `detr demo` from the sources (tsx, `@detr/source` export condition), passing
// any extra arguments along: `npm start -- --nodes 50`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../packages/node/src/cli.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--conditions=@detr/source', '--import', 'tsx', cli, 'demo', ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('close', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
