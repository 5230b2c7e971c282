#!/usr/bin/env node
// `npm test`: typecheck, lint and every project's jest suite through nx, then one plain line
// `N passed, N failed` added up from jest's JSON results (the line CI reads).
// Extra arguments go to `nx run-many`, e.g. `npm test -- --projects=@detr/protocol`.
// A typecheck or lint task that fails counts as one failure, as does a jest project that
// failed without writing results.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const reports = join(root, 'reports/jest');
rmSync(reports, { recursive: true, force: true });

const args = [
  'nx',
  'run-many',
  '-t',
  'typecheck',
  'lint',
  'test',
  '--outputStyle=stream',
  ...process.argv.slice(2),
];
const env = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_TUI: 'false',
  NX_NO_CLOUD: 'true',
  FORCE_COLOR: process.env.FORCE_COLOR ?? '0',
};
const child = spawn('npx', args, { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });

let tail = '';
const keep = (chunk) => {
  tail = (tail + chunk.toString()).slice(-200_000);
};
child.stdout.on('data', (c) => {
  process.stdout.write(c);
  keep(c);
});
child.stderr.on('data', (c) => {
  process.stderr.write(c);
  keep(c);
});
const forward = (sig) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);

const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));

const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.json')) files.push(p);
  }
};
walk(reports);

let passed = 0;
let failed = 0;
const failures = [];
const reported = new Set();
for (const file of files) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  reported.add(r.projectName);
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  for (const suite of r.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
      failures.push(`${r.projectName}: ${suite.name} (suite failed to run)`);
    }
    for (const a of suite.assertionResults ?? []) {
      if (a.status === 'failed') failures.push(`${r.projectName}: ${a.fullName}`);
    }
  }
}

// nx lists failed tasks as "- <project>:<target>" after its summary.
const plain = tail.replace(/\u001b\[[0-9;]*m/g, '');
const at = plain.lastIndexOf('Failed tasks:');
const summary = at === -1 ? '' : plain.slice(at);
const failedTasks = [...summary.matchAll(/^\s*-\s+(\S+):(typecheck|lint|test)\s*$/gm)].map((m) => ({
  project: m[1],
  target: m[2],
}));
for (const t of failedTasks) {
  if (t.target !== 'test' || !reported.has(t.project)) {
    failed += 1;
    failures.push(`${t.project}:${t.target} failed`);
  }
}
if (code !== 0 && failed === 0) {
  failed = 1;
  failures.push(`nx exited with code ${code}`);
}

if (failures.length > 0) {
  console.log('\nFailures:');
  for (const f of failures.slice(0, 100)) console.log(`  ✖ ${f}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(code !== 0 || failed > 0 ? 1 : 0);
