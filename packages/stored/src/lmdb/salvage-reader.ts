// The salvage's reader: a child process that opens a (possibly damaged) lmdb file read-only and
// streams out every record it can reach, table by table, forwards or backwards from a bound.
// lmdb trusts its file and some damage kills the process reading it, hence the child: the parent
// keeps what arrived before the child died and learns where it stopped.
import { spawn } from 'node:child_process';
import { AbortError } from '@detr/interface';

// Runs in `node --input-type=module -e`: reads tables of a read-only environment and prints, per
// table, `T <table>`, then `R <key hex> <value base64>` per record, then `D` at its end or
// `E <message>` on an error (and goes on with the next table).
const CHILD = `
const [lmdbUrl, dir, mode, boundHex, ...tables] = process.argv.slice(1);
const m = await import(lmdbUrl);
const open = m.open ?? m.default.open;
let pending = [];
const flush = () => new Promise((r) => { const text = pending.join(''); pending = []; process.stdout.write(text, () => r()); });
const out = async (s) => { pending.push(s + '\\n'); if (pending.length >= 256) await flush(); };
const env = open({ path: dir, readOnly: true, keyEncoding: 'binary', encoding: 'binary', maxDbs: 64 });
for (const table of tables) {
  await out('T ' + table);
  await flush();
  try {
    const db = env.openDB({ name: table, keyEncoding: 'binary', encoding: 'binary' });
    const bound = boundHex === '-' ? undefined : Buffer.from(boundHex, 'hex');
    const it = mode === 'fwd' ? db.getRange({}) : db.getRange({ reverse: true });
    for (const { key, value } of it) {
      if (bound !== undefined && mode === 'rev' && Buffer.compare(key, bound) <= 0) break;
      await out('R ' + key.toString('hex') + ' ' + Buffer.from(value).toString('base64'));
    }
    await out('D');
  } catch (err) {
    await out('E ' + String(err && err.message || err).replace(/\\n/g, ' '));
  }
}
await flush();
process.exit(0);
`;

/** What one child read of one table. */
export interface Pass {
  records: Array<[Uint8Array, Uint8Array]>;
  done: boolean;
  error: string | undefined;
}

/** Reads `tables` in one child; a table the child died in has `error` set; later ones are absent. */
export function readTables(
  lmdbUrl: string,
  dir: string,
  mode: 'fwd' | 'rev',
  bound: Uint8Array | undefined,
  tables: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Map<string, Pass>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        CHILD,
        lmdbUrl,
        dir,
        mode,
        bound === undefined ? '-' : Buffer.from(bound).toString('hex'),
        ...tables,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const passes = new Map<string, Pass>();
    let current: Pass | undefined;
    let buf = '';
    let stderr = '';
    const line = (l: string): void => {
      if (l.startsWith('T ')) {
        current = { records: [], done: false, error: undefined };
        passes.set(l.slice(2), current);
      } else if (current === undefined) return;
      else if (l.startsWith('R ')) {
        const [, k, v] = l.split(' ');
        current.records.push([
          new Uint8Array(Buffer.from(k ?? '', 'hex')),
          new Uint8Array(Buffer.from(v ?? '', 'base64')),
        ]);
      } else if (l === 'D') current.done = true;
      else if (l.startsWith('E ')) current.error = l.slice(2);
    };
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted === true) {
        reject(new AbortError(undefined, { cause: signal.reason }));
        return;
      }
      const died = `reader died (${exitSignal ?? `exit ${code}`})`;
      if (passes.size === 0 && tables[0] !== undefined) {
        const last = stderr.trim().split('\n').at(-1) ?? '';
        passes.set(tables[0], {
          records: [],
          done: false,
          error: `${died}${last === '' ? '' : `: ${last.slice(0, 200)}`}`,
        });
      } else if (current !== undefined && !current.done && current.error === undefined) {
        current.error = died;
      }
      resolve(passes);
    });
  });
}
