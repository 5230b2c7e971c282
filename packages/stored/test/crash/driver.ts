// The crash test: a child process writes acknowledged batches in a loop (writer.ts) and is killed
// with SIGKILL at a random moment; the parent then opens the store and checks it (check.ts).
// Used by the jest test (50 kills) and by `npm run crash` (as many as you like).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSeededRng } from '@detr/interface';
import { createLmdbStore } from '../../src/index.js';
import { checkStore } from './check.js';

export interface CrashOptions {
  /** Store directory (created by the first child). */
  dir: string;
  kills: number;
  seed: number;
  /** Longest wait after the child reported `ready` before killing it. */
  maxKillDelayMs?: number;
  onRound?: (r: RoundReport) => void;
}

export interface RoundReport {
  round: number;
  /** Acks received in this round (0: killed before or right at its first batch). */
  acked: number;
  /** Where the kill's random delay started. */
  killFrom: KillFrom;
  lastAck: number;
  head: number;
  records: number;
  killedBeforeReady: boolean;
  problems: string[];
}

export interface CrashReport {
  kills: number;
  rounds: RoundReport[];
  totalAcked: number;
  /** Rounds killed while batches were being written (at least one ack that round). */
  midWrite: number;
  problems: string[];
}

const writer = fileURLToPath(new URL('./writer.ts', import.meta.url));

function spawnWriter(dir: string): ChildProcess {
  return spawn(process.execPath, ['--conditions=@detr/source', '--import', 'tsx', writer, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** When the kill's random delay starts: at spawn, at `ready`, or at the first ack. */
export type KillFrom = 'spawn' | 'ready' | 'first-ack';

async function oneRound(
  dir: string,
  lastAckBefore: number,
  delayMs: number,
  from: KillFrom,
): Promise<{ acked: number; lastAck: number; beforeReady: boolean; stderr: string }> {
  const child = spawnWriter(dir);
  let lastAck = lastAckBefore;
  let acked = 0;
  let ready = false;
  let buf = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  let timer: NodeJS.Timeout | undefined;
  const safety = setTimeout(kill, 30_000);
  try {
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ready ')) {
          ready = true;
          if (from === 'ready') timer = setTimeout(kill, delayMs);
        } else if (line.startsWith('ack ')) {
          lastAck = Number(line.slice(4));
          acked++;
          if (from === 'first-ack' && acked === 1) timer = setTimeout(kill, delayMs);
        }
      }
    });
    if (from === 'spawn') timer = setTimeout(kill, delayMs);
    await exited;
  } finally {
    clearTimeout(timer);
    clearTimeout(safety);
    kill();
  }
  return { acked, lastAck, beforeReady: !ready, stderr };
}

export async function runCrashTest(options: CrashOptions): Promise<CrashReport> {
  const rng = createSeededRng(options.seed);
  const maxDelay = options.maxKillDelayMs ?? 80;
  const rounds: RoundReport[] = [];
  const problems: string[] = [];
  let lastAck = -1;
  for (let round = 0; round < options.kills; round++) {
    // One kill in eight lands at a random moment of start-up (lock, checks, open), one in eight
    // at a random moment after the store opened, and the rest at a random moment after the first
    // acknowledged batch, so that on a slow machine too most kills land while batches are written.
    const pick = rng.int(8);
    const from: KillFrom = pick === 0 ? 'spawn' : pick === 1 ? 'ready' : 'first-ack';
    const delay = from === 'spawn' ? 150 + rng.int(300) : rng.int(maxDelay + 1);
    const r = await oneRound(options.dir, lastAck, delay, from);
    lastAck = r.lastAck;
    const report: RoundReport = {
      round,
      acked: r.acked,
      killFrom: from,
      lastAck,
      head: -1,
      records: 0,
      killedBeforeReady: r.beforeReady,
      problems: [],
    };
    if (r.stderr !== '' && !/^\s*$/.test(r.stderr))
      report.problems.push(`writer stderr: ${r.stderr.slice(0, 500)}`);
    const store = createLmdbStore({}, { path: options.dir, sweepIntervalMs: 0 });
    try {
      await store.start();
      const c = checkStore(store, lastAck);
      report.head = c.head;
      report.records = c.records;
      report.problems.push(...c.problems);
      // The next round's writer continues from the head, which may be one past the last ack.
      lastAck = Math.max(lastAck, c.head);
    } catch (err) {
      report.problems.push(
        `reopen failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      );
    } finally {
      await store.stop();
    }
    for (const p of report.problems) problems.push(`round ${round}: ${p}`);
    rounds.push(report);
    options.onRound?.(report);
    if (problems.length > 0) break;
  }
  return {
    kills: rounds.length,
    rounds,
    totalAcked: rounds.reduce((s, r) => s + r.acked, 0),
    midWrite: rounds.filter((r) => r.acked > 0).length,
    problems,
  };
}
