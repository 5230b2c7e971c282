// The store directory's exclusive lock: a LOCK file created with O_CREAT|O_EXCL, holding the
// owner's pid, process start time, boot id, host and a random token. lmdb's own lock file is for
// cooperating processes sharing one environment; this one keeps a second detr process out.
//
// A lock left by a dead process (SIGKILL, power loss) is stale and is broken on the next open:
// the holder is dead when its pid is gone, when the pid now belongs to a process that started at
// another time (pid reuse), or when the machine has rebooted since. Breaking is serialised by a
// second O_EXCL file (LOCK.break) so two openers cannot both break and both win.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreLockedError } from '../errors.js';

export const LOCK_FILE = 'LOCK';
/** A lock file with unreadable content younger than this is assumed to be being written. */
const PARTIAL_GRACE_MS = 5_000;
/** A LOCK.break older than this was left by a crashed breaker. */
const BREAKER_STALE_MS = 10_000;

interface LockInfo {
  pid: number;
  host: string;
  bootId: string;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22), or ''. */
  start: string;
  token: string;
}

export interface LockHandle {
  readonly path: string;
  release(): void;
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/<pid>/stat (starttime), or '' where /proc is not available. */
export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function parse(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (
      typeof v.pid === 'number' &&
      Number.isSafeInteger(v.pid) &&
      v.pid > 0 &&
      typeof v.host === 'string' &&
      typeof v.bootId === 'string' &&
      typeof v.start === 'string' &&
      typeof v.token === 'string'
    ) {
      return v as LockInfo;
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** 'alive', 'dead', or 'unknown' (another host: we cannot tell). */
function holderState(info: LockInfo): 'alive' | 'dead' | 'unknown' {
  if (info.host !== hostname()) return 'unknown';
  const boot = readBootId();
  if (boot !== '' && info.bootId !== '' && boot !== info.bootId) return 'dead';
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: the pid exists but belongs to another user.
  }
  if (info.start !== '') {
    const now = processStartTime(info.pid);
    if (now !== '' && now !== info.start) return 'dead';
  }
  return 'alive';
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function tryCreate(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes the stale lock whose content was `seen`, unless it changed meanwhile. */
function breakStale(lockPath: string, seen: string): void {
  const breaker = `${lockPath}.break`;
  if (!tryCreate(breaker, String(process.pid))) {
    if (ageMs(breaker) < BREAKER_STALE_MS) {
      throw new StoreLockedError(lockPath, undefined, 'another process is breaking a stale lock');
    }
    unlinkQuiet(breaker);
    if (!tryCreate(breaker, String(process.pid))) {
      throw new StoreLockedError(lockPath, undefined, 'another process is breaking a stale lock');
    }
  }
  try {
    if (readText(lockPath) === seen) unlinkQuiet(lockPath);
  } finally {
    unlinkQuiet(breaker);
  }
}

/**
 * Takes the exclusive lock of `dir`.
 *
 * @throws {StoreLockedError} when a live process (or this one) holds it
 */
export function acquireLock(dir: string): LockHandle {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    bootId: readBootId(),
    start: processStartTime(process.pid),
    token: randomBytes(12).toString('hex'),
  };
  const text = JSON.stringify(info);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, text)) {
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          const now = readText(path);
          if (now !== undefined && parse(now)?.token === info.token) unlinkQuiet(path);
        },
      };
    }
    const seen = readText(path);
    if (seen === undefined) continue; // released meanwhile: try again
    const holder = parse(seen);
    if (holder === undefined) {
      if (ageMs(path) < PARTIAL_GRACE_MS) {
        throw new StoreLockedError(path, undefined, 'the lock is being taken');
      }
    } else {
      const state = holderState(holder);
      if (state === 'alive') throw new StoreLockedError(path, holder.pid);
      if (state === 'unknown') {
        throw new StoreLockedError(
          path,
          holder.pid,
          `held from host ${holder.host}; remove ${path} if that host is done`,
        );
      }
    }
    breakStale(path, seen);
  }
  throw new StoreLockedError(path, undefined, 'lost the race for the lock three times');
}
