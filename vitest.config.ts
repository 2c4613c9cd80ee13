import { defineConfig } from 'vitest/config';

/**
 * Test tiers as vitest projects (README, "Testing"). Run one alone with `npm test -- --project NAME`.
 * - unit: pure code, no servers.
 * - integration: real AWS-API servers started by the tests (kinesis-local, dynalite, local SQS; moto_server
 *   where it is on PATH: those parts skip with their reason where it is not).
 * - browser: the dashboard in Debian's Chromium (skips with its reason without /usr/bin/chromium).
 * - localstack: LocalStack in Docker via testcontainers (skips with its reason without a Docker daemon).
 */
const BROWSER = ['test/integration/dashboard*.test.ts'];
const LOCALSTACK = ['test/integration/localstack.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    pool: 'forks',
    // Prints the Node version (and Java's) the run uses: CI runs the suite on Node 20 and on 22.
    globalSetup: ['test/helpers/print-runtime.ts'],
    // The SDK's notice that releases after January 2027 need Node 22; CI also runs the suite on Node 22.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], exclude: [...BROWSER, ...LOCALSTACK] },
      },
      { extends: true, test: { name: 'browser', include: BROWSER } },
      { extends: true, test: { name: 'localstack', include: LOCALSTACK } },
    ],
  },
});
