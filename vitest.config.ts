import { defineConfig } from "vitest/config";

/**
 * Four test tiers, each runnable alone (`npm run test:<tier>`):
 *   unit        pure logic and property tests; no processes, no network
 *   infra       the Pulumi program under pulumi.runtime.setMocks
 *   integration real redis-server processes and real peers (Python cryptography)
 *   e2e         the real Docker engine with locally built images
 * Components a tier needs are never skipped when missing: the test fails.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "infra", include: ["test/infra/**/*.test.ts"], testTimeout: 60_000 } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Containers and images are shared machine state: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
