// Builds a planned lab with real namespaces, iptables and coturn, and tears it down: on close(), on
// process exit, and (for a run that crashed) at the start of the next run.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NS_PATTERN,
  planLab,
  type HostPlan,
  type LabInit,
  type LabPlan,
  type TurnPlan,
} from './plan.js';
import { inNs, run, runSync } from './sys.js';

/** TURN credentials: static long-term ones, and the shared secret for REST-style ones. */
export interface TurnInfo extends TurnPlan {
  readonly auth: 'rest' | 'static';
  readonly user: string;
  readonly password: string;
  readonly secret: string;
  readonly realm: string;
  readonly logFile: string;
}

export interface Lab {
  readonly plan: LabPlan;
  readonly hosts: readonly HostPlan[];
  readonly turn: TurnInfo;
  /** The directory of this run's logs and scratch files. */
  readonly dir: string;
  /** The host of `name` (`site3`, `public0`). @throws {RangeError} when there is none */
  host(name: string): HostPlan;
  /** Runs a command inside a lab namespace and resolves with its stdout. */
  exec(ns: string, argv: readonly string[]): Promise<string>;
  /** Spawns a long-running process inside a lab namespace; close() kills it. */
  spawn(ns: string, argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills every process, deletes every namespace and the scratch directory. Idempotent. */
  close(): Promise<void>;
}

export interface CreateLabOptions extends LabInit {
  /** Keep the scratch directory (coturn log) after close. @default false */
  keepLogs?: boolean;
  /** Start coturn. @default true */
  turn?: boolean;
  /**
   * How coturn authenticates: `rest` (time-limited credentials from a shared secret, TURN REST
   * API) or `static` (one long-term user). coturn cannot mix both. @default 'rest'
   */
  turnAuth?: 'rest' | 'static';
  /** coturn's `--verbose` session log. @default false */
  turnVerbose?: boolean;
}

const open = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const teardown of [...open]) teardown();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killNamespaceSync(ns: string): void {
  const pids = (runSync(['ip', 'netns', 'pids', ns]) ?? '')
    .split(/\s+/)
    .filter((p) => /^[0-9]+$/.test(p))
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  runSync(['ip', 'netns', 'del', ns]);
}

/** The lab namespaces that exist now. */
export function listLabNamespaces(): string[] {
  return (runSync(['ip', 'netns', 'list']) ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => NS_PATTERN.test(n));
}

/**
 * Deletes the namespaces (and kills the processes inside them) of lab runs whose process is dead:
 * leftovers of a crashed run. Returns the names removed.
 */
export function cleanupStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listLabNamespaces()) {
    const pid = Number(NS_PATTERN.exec(ns)?.[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    killNamespaceSync(ns);
    removed.push(ns);
  }
  return removed;
}

/** A TURN REST API credential (username `expiry:user`, password base64 HMAC-SHA1 of it). */
export function turnRestCredential(
  secret: string,
  user: string,
  ttlSec: number,
  nowMs = Date.now(),
): { username: string; password: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSec}:${user}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, password };
}

async function waitForUdpListener(ns: string, address: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = await run(inNs(ns, ['ss', '-Hlun'])).catch(() => '');
    if (out.includes(`${address}:${port}`)) return;
    if (Date.now() > deadline) throw new Error(`coturn did not listen on ${address}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Builds a lab: namespaces, links, addresses, NAT rules, and coturn. Removes leftovers of dead
 * runs first. On any failure it tears down what it built before rethrowing.
 *
 * @example
 * ```ts
 * const lab = await createLab()
 * try { ... lab.spawn(lab.host('site2').ns, ['node', 'peer.js']) ... } finally { await lab.close() }
 * ```
 */
export async function createLab(options: CreateLabOptions = {}): Promise<Lab> {
  cleanupStaleLabs();
  installExitHook();
  const plan = planLab(options);
  const dir = mkdtempSync(join(tmpdir(), `detrlab-${plan.runId}-`));
  const children = new Set<ChildProcess>();
  let closed = false;
  const teardownSync = (): void => {
    if (closed) return;
    closed = true;
    open.delete(teardownSync);
    for (const c of children) c.kill('SIGKILL');
    for (const ns of [...plan.namespaces].reverse()) killNamespaceSync(ns);
    if (options.keepLogs !== true) rmSync(dir, { recursive: true, force: true });
  };
  open.add(teardownSync);

  const turn: TurnInfo = {
    ...plan.turn,
    auth: options.turnAuth ?? 'rest',
    user: 'lab',
    password: randomBytes(9).toString('base64url'),
    secret: randomBytes(18).toString('base64url'),
    realm: 'detr.lab',
    logFile: join(dir, 'turn.log'),
  };

  const lab: Lab = {
    plan,
    hosts: plan.hosts,
    turn,
    dir,
    host(name) {
      const h = plan.hosts.find((x) => x.name === name);
      if (h === undefined) throw new RangeError(`no host ${name}`);
      return h;
    },
    exec(ns, argv) {
      if (!plan.namespaces.includes(ns)) throw new RangeError(`${ns} is not this lab's`);
      return run(inNs(ns, argv));
    },
    spawn(ns, argv, spawnOptions = {}) {
      if (!plan.namespaces.includes(ns)) throw new RangeError(`${ns} is not this lab's`);
      const child = spawn('ip', inNs(ns, argv).slice(1), { stdio: 'pipe', ...spawnOptions });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    async close() {
      if (closed) return;
      const waits = [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              c.kill('SIGKILL');
              resolve();
            }, 2000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      );
      await Promise.all(waits);
      teardownSync();
    },
  };

  try {
    for (const phase of plan.phases) {
      await Promise.all(
        phase.map(async (group) => {
          for (const argv of group) await run(argv);
        }),
      );
    }
    if (options.turn !== false) {
      const argv = [
        'turnserver',
        '-n',
        '--listening-ip',
        turn.listen[0],
        '--listening-ip',
        turn.listen[1],
        '--relay-ip',
        turn.relayIp,
        '--listening-port',
        String(turn.port),
        '--realm',
        turn.realm,
        '--lt-cred-mech',
        ...(options.turnAuth === 'static'
          ? ['--user', `${turn.user}:${turn.password}`]
          : ['--use-auth-secret', '--static-auth-secret', turn.secret]),
        ...(options.turnVerbose === true ? ['--verbose'] : []),
        '--no-tls',
        '--no-dtls',
        '--no-tcp-relay',
        '--no-cli',
        '--fingerprint',
        '--no-software-attribute',
        '--userdb',
        join(dir, 'turndb'),
        '--pidfile',
        join(dir, 'turn.pid'),
        '--log-file',
        turn.logFile,
        '--simple-log',
        '--no-stdout-log',
      ];
      const child = lab.spawn(turn.ns, argv, { stdio: 'ignore' });
      const exited = new Promise<never>((_, reject) =>
        child.once('exit', (code) => reject(new Error(`turnserver exited with ${code}`))),
      );
      exited.catch(() => {});
      await Promise.race([
        Promise.all(turn.listen.map((a) => waitForUdpListener(turn.ns, a, turn.port))),
        exited,
      ]);
    }
    return lab;
  } catch (err) {
    await lab.close();
    throw err;
  }
}
