/**
 * The benchmark contract. A benchmark module in `src/benches/` default-exports one
 * {@link Benchmark} (or an array); `npm run bench` runs each module in its own process so that
 * memory figures and leftover handles of one never touch another.
 */
export interface BenchContext {
  /** Small sizes and few iterations: the fast version `npm test` runs. */
  readonly quick: boolean;
  /** Prints `name: value unit` and returns the value. */
  figure(name: string, value: number, unit: string): number;
  /**
   * Prints `ratio.<name>: <detr/anchor> x` for one comparison and returns the ratio. Throughputs
   * are better above 1, latencies and memory below 1; the name says which figure it compares.
   */
  ratio(name: string, detr: number, anchor: number): number;
  /** Prints a `# ...` note line (ignored by parsers). */
  note(text: string): void;
}

export interface Benchmark {
  /** Dotted name prefix of the figures it prints, e.g. `tcp`. */
  readonly name: string;
  readonly description: string;
  run(ctx: BenchContext): Promise<void>;
}

/** Formats a value with about four significant digits, never in exponent form. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return value.toFixed(digits);
}

/** A line-printing context; `write` defaults to stdout. */
export function createContext(
  quick: boolean,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): BenchContext {
  return {
    quick,
    figure(name, value, unit) {
      write(`${name}: ${formatValue(value)} ${unit}`);
      return value;
    },
    ratio(name, detr, anchor) {
      const r = detr / anchor;
      write(`ratio.${name}: ${formatValue(r)} x`);
      return r;
    },
    note(text) {
      write(`# ${text}`);
    },
  };
}

/** Matches one output line of a benchmark: a figure, a ratio, or a note. */
export const LINE = /^(?:# .*|[A-Za-z0-9_.\-/]+: -?[0-9]+(?:\.[0-9]+)? [A-Za-z/%µ]+)$/;
