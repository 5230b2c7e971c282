// The NAT matrix: every (dialer kind, listener kind) pair, several attempts each, and its table.
import type { AttemptResult } from './agents/proto.js';
import { NAT_KINDS, type NatKind } from './plan.js';

/** The attempts of one matrix cell. */
export interface Cell {
  readonly dialer: NatKind;
  readonly listener: NatKind;
  readonly results: readonly AttemptResult[];
}

/** Summary of one cell. */
export interface CellSummary {
  readonly connected: number;
  readonly attempts: number;
  readonly direct: number;
  readonly relayed: number;
  /** Time to first byte of the successful attempts, nearest-rank p50 and max, in ms. */
  readonly ttfbP50Ms: number | undefined;
  readonly ttfbMaxMs: number | undefined;
  readonly errors: readonly string[];
}

/** Nearest-rank percentile of `values` (not empty); `p` in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function summarize(cell: Cell): CellSummary {
  const ok = cell.results.filter((r) => r.ok);
  const ttfb = ok.map((r) => r.ttfbMs).filter((v): v is number => typeof v === 'number');
  return {
    connected: ok.length,
    attempts: cell.results.length,
    direct: ok.filter((r) => r.path === 'direct').length,
    relayed: ok.filter((r) => r.path === 'relayed').length,
    ttfbP50Ms: ttfb.length > 0 ? percentile(ttfb, 50) : undefined,
    ttfbMaxMs: ttfb.length > 0 ? Math.max(...ttfb) : undefined,
    errors: [...new Set(cell.results.filter((r) => !r.ok).map((r) => r.error ?? 'failed'))],
  };
}

/**
 * Whether theory says a direct path exists: both sides map endpoint-independently, or one side
 * filters nothing (open, full-cone) so the other's per-destination mapping is reachable anyway.
 */
export function directExpected(a: NatKind, b: NatKind): boolean {
  const eim = (k: NatKind): boolean => k !== 'symmetric';
  const eif = (k: NatKind): boolean => k === 'open' || k === 'full-cone';
  return (eim(a) && eim(b)) || eif(a) || eif(b);
}

const seconds = (ms: number | undefined): string =>
  ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`;

/** The matrix as markdown: a compact grid and a detailed table. */
export function formatMatrix(cells: readonly Cell[], title: string): string {
  const byKey = new Map(cells.map((c) => [`${c.dialer}|${c.listener}`, c]));
  const kinds = NAT_KINDS.filter((k) => cells.some((c) => c.dialer === k || c.listener === k));
  const lines: string[] = [`### ${title}`, ''];
  lines.push(`| dialer ↓ / listener → | ${kinds.join(' | ')} |`);
  lines.push(`|---|${kinds.map(() => '---').join('|')}|`);
  for (const d of kinds) {
    const row = kinds.map((l) => {
      const c = byKey.get(`${d}|${l}`);
      if (c === undefined) return ' ';
      const s = summarize(c);
      const path =
        s.connected === 0
          ? ''
          : s.relayed === 0
            ? ' direct'
            : s.direct === 0
              ? ' relayed'
              : ' mixed';
      return `${s.connected}/${s.attempts}${path}, ${seconds(s.ttfbP50Ms)}`;
    });
    lines.push(`| **${d}** | ${row.join(' | ')} |`);
  }
  lines.push('');
  lines.push(
    '| dialer | listener | connected | direct | relayed | direct expected | TTFB p50 | TTFB max | errors |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const c of cells) {
    const s = summarize(c);
    lines.push(
      `| ${c.dialer} | ${c.listener} | ${s.connected}/${s.attempts} | ${s.direct} | ${s.relayed} | ` +
        `${directExpected(c.dialer, c.listener) ? 'yes' : 'no'} | ${seconds(s.ttfbP50Ms)} | ` +
        `${seconds(s.ttfbMaxMs)} | ${s.errors.join('; ').replace(/\|/g, '/') || ''} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** Every ordered pair of `kinds`. */
export function allCells(kinds: readonly NatKind[] = NAT_KINDS): Array<[NatKind, NatKind]> {
  return kinds.flatMap((a) => kinds.map((b): [NatKind, NatKind] => [a, b]));
}
