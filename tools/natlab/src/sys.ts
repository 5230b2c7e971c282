// Running system commands (ip, iptables, sysctl) for the lab, always inside a namespace the lab
// created, never in the host's own namespace (except `ip netns add/del/list/pids`, which only
// manage the lab's namespaces by name).
import { execFile, execFileSync } from 'node:child_process';

/** A failed system command, with its argv and stderr. */
export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${argv.join(' ')} failed: ${stderr.trim().slice(-1000)}`, options);
    this.name = 'CommandError';
  }
}

/** Runs `argv` and resolves with its stdout; rejects with {@link CommandError}. */
export function run(argv: readonly string[], timeoutMs = 20_000): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('empty argv'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) reject(new CommandError(argv, stderr || err.message, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Synchronous variant for exit handlers; never throws, returns stdout or undefined. */
export function runSync(argv: readonly string[]): string | undefined {
  const [file, ...args] = argv;
  if (file === undefined) return undefined;
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

/** `argv` run inside network namespace `ns`. */
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** True when this process may create namespaces and the lab's tools are installed. */
export function labSupport(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'network namespaces need Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, why: 'the NAT lab needs root (network namespaces, iptables)' };
  }
  for (const tool of ['ip', 'iptables', 'turnserver']) {
    if (runSync(['sh', '-c', `command -v ${tool}`]) === undefined) {
      return {
        ok: false,
        why: `${tool} is not installed (apt-get install -y iproute2 iptables coturn)`,
      };
    }
  }
  return { ok: true };
}

/**
 * Whether the lab's tests run here: yes when {@link labSupport} is satisfied. When it is not, on CI
 * (`CI` set, or `DETR_NATLAB_REQUIRED=1`, which `.ci/run` exports) it throws, so the suite fails;
 * elsewhere it prints a loud banner and the caller skips.
 *
 * @throws {Error} on CI when root, iproute2, iptables or coturn is missing
 */
export function labGate(suite: string): boolean {
  const support = labSupport();
  if (support.ok) return true;
  const ci = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
  if (ci || process.env.DETR_NATLAB_REQUIRED === '1') {
    throw new Error(`${suite}: ${support.why} — the NAT lab tests must run on CI`);
  }
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPED: ${suite} — ${support.why}.\n!! They run on CI (.ci/run installs ` +
      `coturn and iptables; CI or DETR_NATLAB_REQUIRED=1 makes this a failure).\n${bar}\n`,
  );
  return false;
}
