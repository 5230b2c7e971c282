import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../errors.js';
import { SCHEMA, SECTIONS, type OptionSpec, type SectionName } from './schema.js';

type Value = number | boolean | string | readonly string[];

/** A validated configuration: every option of every section, defaults filled in. */
export type NodeConfig = {
  readonly [S in SectionName]: Readonly<Record<string, Value>>;
};

/** What {@link resolveConfig} accepts: any subset of sections and options. */
export type ConfigInput = Partial<Record<SectionName, Record<string, unknown>>>;

/** A typed accessor: `opt<number>(config, 'fluent', 'max_queue_messages')`. */
export function opt<T extends Value>(config: NodeConfig, section: SectionName, key: string): T {
  const v = config[section][key];
  if (v === undefined) throw new RangeError(`no option ${section}.${key}`);
  return v as T;
}

type Checked = { ok: true; value: Value } | { ok: false; why: string };

function checkValue(spec: OptionSpec, raw: unknown): Checked {
  const bad = (why: string): Checked => ({ ok: false, why });
  const good = (value: Value): Checked => ({ ok: true, value });
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return bad('must be a number');
      if (spec.kind === 'int' && !Number.isInteger(n)) return bad('must be an integer');
      if (spec.min !== undefined && n < spec.min) return bad(`must be ≥ ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) return bad(`must be ≤ ${spec.max}`);
      return good(n);
    }
    case 'bool':
      return typeof raw === 'boolean' ? good(raw) : bad('must be true or false');
    case 'enum':
      return typeof raw === 'string' && spec.values?.includes(raw) === true
        ? good(raw)
        : bad(`must be one of ${spec.values?.map((v) => JSON.stringify(v)).join(', ')}`);
    case 'string': {
      if (typeof raw !== 'string') return bad('must be a string');
      const why = spec.check?.(raw);
      return why === undefined ? good(raw) : bad(why);
    }
    case 'string[]': {
      if (!Array.isArray(raw) || raw.length > 256) return bad('must be an array of strings');
      for (const item of raw as unknown[]) {
        if (typeof item !== 'string') return bad('must be an array of strings');
        const why = spec.check?.(item);
        if (why !== undefined) return bad(`${JSON.stringify(item)}: ${why}`);
      }
      return good(Object.freeze([...(raw as string[])]));
    }
  }
}

/**
 * Validates `input` against the schema and fills in defaults.
 *
 * @throws {ConfigError} naming the first bad key (and its line, when `lines` maps it)
 * @example
 * ```ts
 * const config = resolveConfig({ fluent: { max_queue_messages: 5000 } })
 * ```
 */
export function resolveConfig(
  input: ConfigInput | Record<string, unknown> = {},
  where: { file?: string; lines?: ReadonlyMap<string, number> } = {},
): NodeConfig {
  const pos = (key: string): { line?: number; file?: string } => {
    const line = where.lines?.get(key);
    return { ...(line !== undefined ? { line } : {}), ...(where.file ? { file: where.file } : {}) };
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError('(root)', 'must be a table', pos('(root)'));
  }
  for (const name of Object.keys(input)) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new ConfigError(
        name,
        `unknown section; expected one of ${SECTIONS.map((s) => `[${s}]`).join(' ')}`,
        pos(name),
      );
    }
  }
  const out: Record<string, Record<string, Value>> = {};
  for (const section of SECTIONS) {
    const given = (input as Record<string, unknown>)[section] ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new ConfigError(section, 'must be a table', pos(section));
    }
    const specs = SCHEMA[section];
    for (const key of Object.keys(given)) {
      if (!specs.some((s) => s.key === key)) {
        throw new ConfigError(`${section}.${key}`, 'unknown option', pos(`${section}.${key}`));
      }
    }
    const values: Record<string, Value> = {};
    for (const spec of specs) {
      const raw = (given as Record<string, unknown>)[spec.key];
      if (raw === undefined) {
        if (spec.default !== undefined) values[spec.key] = spec.default;
        continue;
      }
      const full = `${section}.${spec.key}`;
      const v = checkValue(spec, raw);
      if (!v.ok) throw new ConfigError(full, v.why, pos(full));
      values[spec.key] = v.value;
    }
    out[section] = Object.freeze(values);
  }
  const node = out.node as Record<string, Value>;
  if ((node.gossip_d_lo as number) > (node.gossip_d as number)) {
    throw new ConfigError('node.gossip_d_lo', 'must be ≤ gossip_d', pos('node.gossip_d_lo'));
  }
  if ((node.gossip_d_hi as number) < (node.gossip_d as number)) {
    throw new ConfigError('node.gossip_d_hi', 'must be ≥ gossip_d', pos('node.gossip_d_hi'));
  }
  return Object.freeze(out) as NodeConfig;
}

/** Maps `section.key` (and `section`) to the 1-based line that defines it. */
export function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let section = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]/.exec(line);
    if (header !== null) {
      section = header[1] as string;
      if (!lines.has(section)) lines.set(section, i + 1);
      return;
    }
    const kv = /^([A-Za-z0-9_-]+|"[^"]*")\s*=/.exec(line);
    if (kv !== null) {
      const key = (kv[1] as string).replace(/^"|"$/g, '');
      const full = section === '' ? key : `${section}.${key}`;
      if (!lines.has(full)) lines.set(full, i + 1);
    }
  });
  return lines;
}

/**
 * Parses and validates TOML text.
 *
 * @throws {ConfigError} for a syntax error (key `(syntax)`) or a bad option, with its line
 * @example
 * ```ts
 * const config = parseConfig('[fluent]\nmax_queue_messages = 5000\n')
 * ```
 */
export function parseConfig(text: string, file?: string): NodeConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError('(syntax)', err.message.split('\n')[0] ?? 'TOML syntax error', {
        line: err.line,
        ...(file !== undefined ? { file } : {}),
      });
    }
    throw err;
  }
  return resolveConfig(data as Record<string, unknown>, {
    lines: keyLines(text),
    ...(file !== undefined ? { file } : {}),
  });
}

/**
 * Reads and validates a TOML config file.
 *
 * @throws {ConfigError} for a bad file (syntax or option), naming the key and line
 * @example
 * ```ts
 * const config = loadConfigFile(join(dataDir, 'config.toml'))
 * ```
 */
export function loadConfigFile(path: string): NodeConfig {
  return parseConfig(readFileSync(path, 'utf8'), path);
}

function tomlValue(v: Value): string {
  if (Array.isArray(v)) return `[${v.map((s) => JSON.stringify(s)).join(', ')}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * A commented TOML file with every option, set to `overrides` or its default.
 *
 * @example
 * ```ts
 * writeFileSync(path, renderConfig({ node: { network: id } }))
 * ```
 */
export function renderConfig(overrides: ConfigInput = {}): string {
  const config = resolveConfig(overrides);
  const out: string[] = ['# detr node configuration. Every option, with its default.', ''];
  for (const section of SECTIONS) {
    out.push(`[${section}]`);
    for (const spec of SCHEMA[section]) {
      out.push(`# ${spec.doc}`);
      const v = config[section][spec.key];
      out.push(v === undefined ? `# ${spec.key} =` : `${spec.key} = ${tomlValue(v)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Markdown table of every option (for the README). */
export function configTable(): string {
  const rows = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const section of SECTIONS) {
    for (const spec of SCHEMA[section]) {
      const d = spec.default === undefined ? '—' : tomlValue(spec.default);
      const range =
        spec.kind === 'enum'
          ? ` (${(spec.values ?? []).join(' \\| ')})`
          : spec.min !== undefined
            ? ` ${spec.min}–${spec.max ?? '∞'}`
            : '';
      rows.push(`| \`${section}.${spec.key}\` | ${spec.kind}${range} | \`${d}\` | ${spec.doc} |`);
    }
  }
  return rows.join('\n');
}
