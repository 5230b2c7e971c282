// One-time scaffold helper kept for adding a package the same way the first ten were made:
//   node tools/scripts/scaffold.mjs <dir> <name> <tag> [dep...]
// It writes package.json, tsconfig*.json, eslint and jest configs; it never overwrites a file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, tag, ...deps] = process.argv.slice(2);
if (!dir || !name || !tag) {
  console.error('usage: scaffold.mjs <dir> <name> <tag> [dep...]');
  process.exit(2);
}
const depth = dir.split('/').length;
const up = '../'.repeat(depth);
const write = (file, text) => {
  const path = join(dir, file);
  if (existsSync(path)) return;
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
};
const json = (v) => JSON.stringify(v, null, 2) + '\n';
write(
  'package.json',
  json({
    name,
    version: '0.1.0',
    description: '',
    license: 'MIT',
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      './package.json': './package.json',
      '.': {
        '@detr/source': './src/index.ts',
        types: './dist/index.d.ts',
        import: './dist/index.js',
        default: './dist/index.js',
      },
    },
    files: ['dist', 'src', 'README.md'],
    nx: { tags: [tag] },
    dependencies: Object.fromEntries(deps.map((d) => [d, '*'])),
  }),
);
write(
  'tsconfig.json',
  json({
    extends: `${up}tsconfig.base.json`,
    files: [],
    include: [],
    references: [{ path: './tsconfig.lib.json' }, { path: './tsconfig.spec.json' }],
  }),
);
write(
  'tsconfig.lib.json',
  json({
    extends: `${up}tsconfig.base.json`,
    compilerOptions: {
      rootDir: 'src',
      outDir: 'dist',
      tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo',
      emitDeclarationOnly: false,
    },
    include: ['src/**/*.ts'],
    references: [],
  }),
);
write(
  'tsconfig.spec.json',
  json({
    extends: `${up}tsconfig.base.json`,
    compilerOptions: {
      outDir: './out-tsc/jest',
      tsBuildInfoFile: './out-tsc/jest/tsconfig.spec.tsbuildinfo',
      types: ['node'],
    },
    include: ['test/**/*.ts'],
    references: [{ path: './tsconfig.lib.json' }],
  }),
);
write(
  'eslint.config.mjs',
  `import baseConfig from '${up}eslint.config.mjs';\n\nexport default [...baseConfig];\n`,
);
write(
  'jest.config.mjs',
  `import { createJestConfig } from '${up}jest.preset.mjs';\n\nexport default createJestConfig(import.meta.url);\n`,
);
