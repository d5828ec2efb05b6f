// Tests only: the AWS SDK's "versions published after the first week of January 2027 will require
// node >=22" notice (printed on Node 20 by every worker and child process). Set here, before Jest
// starts its workers, so they and the child processes the tests spawn inherit it. The library
// itself never sets it: users on Node 20 should see the notice (see README, Node versions).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  // The node environment plus the leak canary scan (test/setup, see test/reliability/README.md).
  testEnvironment: '<rootDir>/test/setup/leak-scan.environment.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup/leak-scan.setup.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  // Workspace packages expose their TypeScript sources under the "@hush/source" export
  // condition, so tests run against src/ without a build step (the build is type-checked by tsc -b).
  testEnvironmentOptions: { customExportConditions: ['@hush/source', 'node', 'require', 'default'] },
  transform: { '^.+\\.(t|j|mj)sx?$': swc },
  transformIgnorePatterns: [
    // light-my-request (Fastify's inject) requires cookie 1.x, which ships ESM only.
    '/node_modules/(?!(@nestjs|uid|load-esm|file-type|iterare|valibot|arktype|arkregex|@ark|light-my-request/node_modules/cookie|cookie)/)',
  ],
  testMatch: ['<rootDir>/packages/*/test/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/apps/.*/dist/'],
  testTimeout: 30_000,
  // Jest's default is one worker less than the cores: one worker on the 2-core machines this runs
  // on, where most suites wait on child processes, sockets and timers. Two workers: Jest 630 s →
  // 432 s here (the same 117 suites, passing with a simulation run beside them at load 4–7).
  maxWorkers: 2,
};
