// Compiles the native ChaCha20-Poly1305 (binding.gyp) with the node-gyp that ships with npm, at
// `npm ci`. It never fails the install: without a compiler or Node's headers aecomms falls back to
// node:crypto (slower on long messages) and says so here. CI sets DETR_NATIVE_REQUIRED=1 and a
// test then fails instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = path.resolve(path.dirname(process.execPath), '..');

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && c !== '' && existsSync(c));
}

function main() {
  if (process.env.DETR_NATIVE_AEAD === '0') return 'skipped (DETR_NATIVE_AEAD=0)';
  const gyp = nodeGyp();
  if (gyp === undefined) return 'node-gyp was not found';
  const args = [gyp, 'rebuild'];
  // Node's own headers when they are installed beside it (no download).
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include/node/node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
  return r.status === 0 ? undefined : `node-gyp exited with ${r.status ?? r.signal}`;
}

const problem = main();
if (problem !== undefined) {
  console.warn(`@detr/aecomms: the native AEAD was not built: ${problem}; using node:crypto.`);
}
