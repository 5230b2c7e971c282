// Drives peer agents inside the lab: starts one agent process per host, relays signaling between
// two of them for one connection attempt, and collects the attempt's result.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { HostPlan } from './plan.js';
import { readLines, writeLine, type AttemptResult, type Command } from './agents/proto.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** A running agent process in one host namespace. */
export interface Agent {
  readonly host: HostPlan;
  send(cmd: Command): void;
  /** Waits for the result of attempt `id`. */
  result(id: number, timeoutMs: number): Promise<AttemptResult>;
  /** Calls a named agent function (`{ op: 'call' }`) and resolves with its value. */
  call(name: string, args?: unknown, timeoutMs?: number): Promise<unknown>;
  onSignal(id: number, fn: (data: unknown) => void): void;
  /** Lines the agent logged (stderr and `log` events), newest last, at most 200. */
  readonly logs: string[];
  /** What the agent said in its `ready` event (its peer id, NAT profile…). */
  readonly info: Record<string, unknown>;
  stop(): Promise<void>;
}

let nextCallId = 1_000_000;

/**
 * Starts `script` (a path under tools/natlab/src/agents) in `host`'s namespace with `init` and
 * waits for its `ready` event.
 */
export async function startAgent(
  lab: Lab,
  host: HostPlan,
  script: string,
  init: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<Agent> {
  const entry = fileURLToPath(new URL(`./agents/${script}`, import.meta.url));
  const child: ChildProcess = lab.spawn(
    host.ns,
    [process.execPath, '--conditions=@detr/source', '--import', 'tsx', entry],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const log = (l: string): void => {
    logs.push(l);
    if (logs.length > 200) logs.shift();
  };
  const results = new Map<number, AttemptResult>();
  const waiters = new Map<number, (r: AttemptResult) => void>();
  const replies = new Map<number, (r: { ok: boolean; value?: unknown; error?: string }) => void>();
  const signals = new Map<number, (data: unknown) => void>();
  const info: Record<string, unknown> = {};
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((resolve) => (readyResolve = resolve));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    for (const l of d.split('\n')) if (l.trim() !== '') log(l);
  });
  if (child.stdout === null || child.stdin === null) throw new Error('agent stdio missing');
  child.stdin.on('error', () => {});
  readLines(child.stdout, (e) => {
    const id = Number(e.id);
    switch (e.ev) {
      case 'ready':
        Object.assign(info, e);
        readyResolve();
        break;
      case 'signal':
        signals.get(id)?.(e.data);
        break;
      case 'result': {
        const r = e.result as AttemptResult;
        const w = waiters.get(id);
        if (w !== undefined) w(r);
        else results.set(id, r);
        break;
      }
      case 'reply':
        replies.get(id)?.(e as unknown as { ok: boolean; value?: unknown; error?: string });
        break;
      case 'log':
        log(String(e.msg));
        break;
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) =>
      reject(
        new Error(`agent ${host.name} exited (${code ?? sig}): ${logs.slice(-5).join(' | ')}`),
      ),
    ),
  );
  exited.catch(() => {});
  const send = (cmd: Command): void => {
    if (child.stdin?.writable === true) writeLine(child.stdin, cmd);
  };
  const agent: Agent = {
    host,
    info,
    logs,
    send,
    result(id, waitMs) {
      const have = results.get(id);
      if (have !== undefined) return Promise.resolve(have);
      return new Promise<AttemptResult>((resolve) => {
        const t = setTimeout(() => {
          waiters.delete(id);
          resolve({ ok: false, error: 'no result from agent' });
        }, waitMs);
        waiters.set(id, (r) => {
          clearTimeout(t);
          waiters.delete(id);
          resolve(r);
        });
        exited.catch((err: Error) => {
          clearTimeout(t);
          waiters.delete(id);
          resolve({ ok: false, error: err.message });
        });
      });
    },
    call(name, args, waitMs = 30_000) {
      const id = nextCallId++;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          replies.delete(id);
          reject(new Error(`${host.name}: call ${name} timed out`));
        }, waitMs);
        replies.set(id, (r) => {
          clearTimeout(t);
          replies.delete(id);
          if (r.ok) resolve(r.value);
          else reject(new Error(`${host.name}: ${name}: ${r.error}`));
        });
        exited.catch((err: Error) => {
          clearTimeout(t);
          reject(err);
        });
        send({ op: 'call', id, name, args });
      });
    },
    onSignal(id, fn) {
      signals.set(id, fn);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      send({ op: 'exit' });
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
  send({ op: 'init', ...init } as Command);
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    await Promise.race([ready, exited]);
  } finally {
    clearTimeout(t);
  }
  return agent;
}

let nextAttempt = 1;

/**
 * One connection attempt from `dialer` to `listener`, signaling relayed through this process.
 * Resolves with the dialer's result; both sides' state is closed afterwards.
 */
export async function attempt(
  dialer: Agent,
  listener: Agent,
  options: { policy: 'all' | 'relay'; timeoutMs: number; [k: string]: unknown },
): Promise<AttemptResult> {
  const id = nextAttempt++;
  dialer.onSignal(id, (data) => listener.send({ op: 'signal', id, data }));
  listener.onSignal(id, (data) => dialer.send({ op: 'signal', id, data }));
  listener.send({ op: 'accept', id, ...options });
  dialer.send({
    op: 'dial',
    id,
    ...options,
    ...(listener.info.peer !== undefined ? { target: listener.info.peer } : {}),
  });
  const result = await dialer.result(id, options.timeoutMs + 5000);
  dialer.send({ op: 'close', id });
  listener.send({ op: 'close', id });
  return result;
}
