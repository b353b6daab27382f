import { defineConfig } from 'vitest/config';

// Three suites with different costs: unit (no network), infra (synthesizes the CDK app),
// e2e (starts the whole local stack). `npm test` runs all three.
export default defineConfig({
  test: {
    // `npm test` reports line coverage of the engine and the pipelines and fails below 80%.
    coverage: {
      provider: 'v8',
      include: ['shared/**/*.ts', 'pipelines/**/*.ts'],
      exclude: ['shared/generated/**'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 80 },
    },
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { test: { name: 'infra', include: ['tests/infra/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 } },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
