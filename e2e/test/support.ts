// Helpers for multi-process scenarios: run the `detr` CLI, start and stop daemons, wait.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cliTs = join(root, 'packages/node/src/cli.ts');
export const binJs = join(root, 'packages/node/bin/detr.mjs');
/**
 * Node arguments that run the CLI from sources (what the bin launcher does, minus one process);
 * processes run with the repository root as working directory, where `tsx` resolves.
 */
export const NODE_ARGS = ['--conditions=@detr/source', '--import', 'tsx', cliTs];

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. */
export function detr(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`detr ${args.join(' ')} timed out`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command with --json and parses stdout; throws with stderr on failure. */
export async function detrJson<T = any>(args: readonly string[]): Promise<T> {
  const r = await detr([...args, '--json']);
  if (r.code !== 0) throw new Error(`detr ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as T;
}

export interface DaemonProc {
  dir: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** Starts `detr start` for `dir` and waits until its control API is up. */
export async function startDaemon(dir: string, extra: readonly string[] = []): Promise<DaemonProc> {
  const controlFile = join(dir, 'control.json');
  if (existsSync(controlFile)) writeFileSync(controlFile, ''); // stale after a SIGKILL
  const child = spawn(process.execPath, [...NODE_ARGS, 'start', '--dir', dir, ...extra], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  const proc: DaemonProc = { dir, child, log: () => out, exited };
  await until(
    () => {
      try {
        return JSON.parse(readFileSync(controlFile, 'utf8')).pid === child.pid;
      } catch {
        return false;
      }
    },
    30_000,
    `daemon in ${dir} (log: ${out.slice(-500)})`,
  );
  return proc;
}

export function controlInfo(dir: string): {
  port: number;
  pid: number;
  peerId: string;
  addresses: string[];
} {
  return JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8'));
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopDaemon(d: DaemonProc, graceMs = 10_000): Promise<number | null> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.child.exitCode;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), graceMs);
  const code = await d.exited;
  clearTimeout(timer);
  return code;
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
