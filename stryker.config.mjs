// StrykerJS options shared by every package (checked against @stryker-mutator/core, jest-runner and
// typescript-checker 10.0.0, pinned to one version: jest-runner 10.0.0 wants core 10.0.0 exactly).
// Run it through `pnpm mutate <package>` (scripts/mutate.ts), which adds what is per package: the
// guarantee modules to mutate, the jest project, the type-check project and the report files.
export default {
  // pnpm's layout keeps the plugins out of core's reach unless they are named.
  plugins: ['@stryker-mutator/jest-runner', '@stryker-mutator/typescript-checker'],
  testRunner: 'jest',
  jest: {
    // One package's project, picked out of jest.config.ts (stryker.jest.config.ts).
    projectType: 'custom',
    configFile: 'stryker.jest.config.ts',
  },
  // jest 30 runs the ESM TypeScript tests only with vm modules, as `pnpm test:unit` does.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  // A mutant that does not type-check is a CompileError, not a survivor: it could not ship.
  checkers: ['typescript'],
  // Each mutant runs only the tests that reached it (scripts/mutate.ts turns this off for a package
  // whose code runs in child processes, whose coverage Stryker never sees).
  coverageAnalysis: 'perTest',
  // The machine has 2 cores and is shared: one test runner and one checker at most.
  concurrency: 2,
  // Tests on a busy machine are slow, never stuck: a mutant that makes one loop is a Timeout
  // (detected), and a slow but honest run must not be mistaken for one.
  timeoutFactor: 3,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { allowEmojis: false, logTests: false },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
}
