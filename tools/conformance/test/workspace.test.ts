// Workspace rules that keep the monorepo honest: the layer order, the package layout, the pinned
// toolchain and an nx set-up that never phones home.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const LAYERS = ['interface', 'protocol', 'core', 'peers', 'net', 'node'];
const readJson = (p: string): any => JSON.parse(readFileSync(join(root, p), 'utf8'));
const packages = readdirSync(join(root, 'packages')).sort();
const layerOf = (name: string): number => {
  const dir = name.replace('@detr/', '');
  const tags: string[] = readJson(`packages/${dir}/package.json`).nx?.tags ?? [];
  const tag = tags.find((t) => t.startsWith('layer:'));
  return LAYERS.indexOf(tag?.slice('layer:'.length) ?? '');
};

describe('package layout', () => {
  it('has the ten packages of the design', () => {
    expect(packages).toEqual([
      'aecomms',
      'dht',
      'dpeers',
      'fluent',
      'interface',
      'nat',
      'node',
      'protocol',
      'stored',
      'transport',
    ]);
  });

  it.each(packages)(
    '%s has a layer tag, src/index.ts, a README naming its layer, and tests',
    (dir) => {
      const pkg = readJson(`packages/${dir}/package.json`);
      expect(pkg.name).toBe(`@detr/${dir}`);
      expect(pkg.type).toBe('module');
      expect(layerOf(pkg.name)).toBeGreaterThanOrEqual(0);
      expect(pkg.exports['.']['@detr/source']).toBe('./src/index.ts');
      expect(existsSync(join(root, 'packages', dir, 'src/index.ts'))).toBe(true);
      const readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
      expect(readme).toMatch(/layer/i);
      const tests = readdirSync(join(root, 'packages', dir, 'test'), { recursive: true }).map(
        String,
      );
      expect(tests.some((f) => f.endsWith('.test.ts'))).toBe(true);
    },
  );

  it('declares @detr dependencies only on strictly lower layers', () => {
    for (const dir of packages) {
      const pkg = readJson(`packages/${dir}/package.json`);
      for (const dep of Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@detr/'))) {
        expect([pkg.name, layerOf(dep) < layerOf(pkg.name)]).toEqual([pkg.name, true]);
      }
    }
  });
});

describe('layer order', () => {
  it('the nx project graph only points downwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'detr-graph-'));
    try {
      const file = join(dir, 'graph.json');
      const out = spawnSync('npx', ['nx', 'graph', `--file=${file}`], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
        timeout: 120_000,
      });
      expect(out.status).toBe(0);
      const graph = JSON.parse(readFileSync(file, 'utf8')).graph;
      const libs = Object.keys(graph.nodes).filter(
        (n) => n.startsWith('@detr/') && existsSync(join(root, 'packages', n.slice(6))),
      );
      expect(libs.length).toBe(10);
      let edges = 0;
      for (const from of libs) {
        for (const { target } of graph.dependencies[from] ?? []) {
          if (!libs.includes(target)) continue;
          edges++;
          expect([from, target, layerOf(target) < layerOf(from)]).toEqual([from, target, true]);
        }
      }
      expect(edges).toBeGreaterThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an upward import fails lint', async () => {
    const eslint = new ESLint({ cwd: root, overrideConfig: [tseslint.configs.disableTypeChecked] });
    const lint = async (file: string, code: string): Promise<string[]> => {
      const [result] = await eslint.lintText(code, { filePath: join(root, file) });
      return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
    };
    expect(
      await lint(
        'packages/protocol/src/upward-probe.ts',
        "import { runDemo } from '@detr/node';\nexport const probe = runDemo;\n",
      ),
    ).toContain('@nx/enforce-module-boundaries');
    expect(
      await lint(
        'packages/aecomms/src/sideways-probe.ts',
        "import { packageInfo } from '@detr/stored';\nexport const probe = packageInfo;\n",
      ),
    ).toContain('@nx/enforce-module-boundaries');
    expect(
      await lint(
        'packages/node/src/downward-probe.ts',
        "import { parseAddress } from '@detr/interface';\nexport const probe = parseAddress;\n",
      ),
    ).not.toContain('@nx/enforce-module-boundaries');
  }, 60_000);
});

describe('toolchain', () => {
  const rootPkg = readJson('package.json');
  it('pins nx, @nx/js, @nx/jest and @nx/eslint to one exact version', () => {
    const dev = rootPkg.devDependencies;
    const versions = new Set(
      ['nx', '@nx/js', '@nx/jest', '@nx/eslint', '@nx/eslint-plugin'].map((n) => dev[n]),
    );
    expect(versions.size).toBe(1);
    expect([...versions][0]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('uses TypeScript 5.9 and jest 30', () => {
    expect(readJson('node_modules/typescript/package.json').version).toMatch(/^5\.9\./);
    expect(readJson('node_modules/jest/package.json').version).toMatch(/^30\./);
  });

  it('never connects nx to the cloud, sends no analytics and runs no daemon', () => {
    const nx = readJson('nx.json');
    expect(nx.neverConnectToCloud).toBe(true);
    expect(nx.analytics).toBe(false);
    expect(nx.useDaemonProcess).toBe(false);
  });
});
