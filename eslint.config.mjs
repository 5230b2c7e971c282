import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// The layer order (see docs/ARCHITECTURE.md): a package may import only packages of strictly
// lower layers. Same-layer packages talk through interfaces in @detr/interface, wired by @detr/node.
const layers = ['interface', 'protocol', 'core', 'peers', 'net', 'node'];
const depConstraints = [
  ...layers.map((layer, i) => ({
    sourceTag: `layer:${layer}`,
    // `scope:testing` packages hold reusable compliance suites that get everything they test
    // through factories, so any layer's tests may run them.
    onlyDependOnLibsWithTags: [...layers.slice(0, i).map((l) => `layer:${l}`), 'scope:testing'],
  })),
  {
    sourceTag: 'scope:testing',
    onlyDependOnLibsWithTags: ['layer:interface', 'layer:protocol', 'scope:testing'],
  },
  // Tools, benchmarks and end-to-end scenarios sit above everything and may use any package.
  { sourceTag: 'scope:tool', onlyDependOnLibsWithTags: ['*'] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: [
      '**/dist',
      '**/out-tsc',
      '**/node_modules',
      '**/reports',
      'packages/protocol/src/gen/**',
    ],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: true,
          // Config files may import the shared root configs by path.
          allow: ['^.*/eslint\\.config\\.mjs$', '^.*/jest\\.preset\\.mjs$'],
          depConstraints,
        },
      ],
    },
  },
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests exercise hostile and loosely typed input on purpose.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  prettier,
];
