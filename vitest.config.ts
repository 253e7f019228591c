import { defineConfig } from 'vitest/config';

// Tests import the workspace packages' TypeScript sources (the "@cti/source" export condition),
// so `pnpm test` needs no build first.
const conditions = ['@cti/source', 'node', 'import', 'module', 'default'];
const jsonReport = process.env.CTI_TEST_JSON_REPORT;

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'connectors/*/src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'connectors/*/test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // Images, compose files, generated metadata, docs and the repository scripts.
          name: 'deploy',
          include: ['docker/test/**/*.test.ts', 'scripts/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
