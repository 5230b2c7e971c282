// Shared jest configuration: native ESM, ts-jest (transpile only; `typecheck` is its own target),
// sibling packages resolved to their sources through the `@detr/source` export condition, and a
// JSON summary per project that `npm test` adds up into its final `N passed, N failed` line.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = dirname(fileURLToPath(import.meta.url));

/**
 * @param {string} configUrl `import.meta.url` of the project's jest.config.mjs
 * @param {import('jest').Config} [overrides]
 * @returns {import('jest').Config}
 */
export function createJestConfig(configUrl, overrides = {}) {
  const rootDir = dirname(fileURLToPath(configUrl));
  const { name } = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8'));
  const reportName = relative(workspaceRoot, rootDir);
  return {
    displayName: name,
    rootDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json', 'node'],
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': [
        'ts-jest',
        { useESM: true, tsconfig: join(rootDir, 'tsconfig.spec.json'), diagnostics: false },
      ],
    },
    testEnvironmentOptions: { customExportConditions: ['@detr/source', 'node', 'node-addons'] },
    reporters: [
      'default',
      [
        join(workspaceRoot, 'tools/jest/summary-reporter.cjs'),
        {
          outputFile: join(workspaceRoot, 'reports/jest', `${reportName}.json`),
          projectName: name,
        },
      ],
    ],
    testTimeout: 30_000,
    ...overrides,
  };
}
