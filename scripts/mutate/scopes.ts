// What `pnpm mutate <package>` (scripts/mutate.ts) mutates in each package, and with which tests.
//
// What each package guarantees, as the modules (or, in a large module, the functions) that keep the
// guarantee. Paths are relative to the package. Everything else in src/ (exports, types, stats,
// errors, options plumbing already proven by @thaw/util) is left out: a mutant there costs a test run
// and says nothing about a guarantee.
export interface Scope {
  // Whole modules.
  modules: string[]
  // Only these functions of a module (function declarations, arrow functions bound to a name,
  // methods and accessors, private ones with their '#').
  functions?: Record<string, string[]>
  // What the score means for this package.
  note: string
  // Test files left out of the run (relative to the package whose tests run), with why: a test that
  // reads the other packages' files finds none in Stryker's sandbox, which holds only this package.
  skipTests?: { files: string[]; why: string }
  // The package whose tests run beside this package's own, for a package proven through another
  // one's tests (db-core's pool and statement deadline are proven by the drivers' tests; its own tests
  // cover the options, credentials, transactions, registry and deadline watch). That package is copied
  // into the sandbox too, and its imports of this one are pointed at the sandbox's copy
  // (stryker.jest.config.ts).
  testedBy?: string
}

export const scopes: Record<string, Scope> = {
  util: {
    modules: [
      'src/options.ts',
      'src/configuration-key.ts',
      'src/describe.ts',
      'src/property-keys.ts',
      'src/near-name.ts',
    ],
    note: 'the options table (every option checked, defaults, messages without secrets), the configuration key, the names refused as properties and the near-name hint for a misspelt option',
    skipTests: {
      files: ['test/package-shape.test.ts', 'test/hover-docs.test.ts'],
      why: "they check every package's files (the shape, the hover docs), and the sandbox holds util's alone",
    },
  },
  'sdk-clients': {
    modules: ['src/registry.ts', 'src/options.ts'],
    note: 'the client registry (one client per configuration, safe destroy) and what goes into its key (options normalised, undefined values left out)',
  },
  'db-connection': {
    // credentials.ts only tells @thaw/db-core's sources that they serve mysql2: the sources are db-core's.
    modules: [
      'src/session.ts',
      'src/release.ts',
      'src/link.ts',
      'src/lease.ts',
      'src/connect.ts',
      'src/fleet-hygiene.ts',
      'src/proxy.ts',
    ],
    note: "session reset, the release after an invocation (reset, rollback, abandon and KILL), the stop's margin from the link's measurements, lease and health, connect back-off",
  },
  'pg-connection': {
    modules: ['src/session.ts', 'src/stop.ts', 'src/release.ts', 'src/statement.ts', 'src/fleet.ts'],
    // Its tests need PostgreSQL on 127.0.0.1:5432 (scripts/jest-global-setup.ts says so at once).
    note: "the invocation's session (one client, the statement deadline), the release (rollback, reset, abandon) and what a statement says about the session",
    skipTests: {
      files: ['test/options.test.ts'],
      why: "it compares pg-connection's defaults with db-connection's sources, which the sandbox does not hold",
    },
  },
  'db-core': {
    modules: [
      'src/pool.ts',
      'src/connect-retry.ts',
      'src/credentials.ts',
      'src/deadline.ts',
      'src/deadline-watch.ts',
      'src/registry.ts',
      'src/transactions.ts',
      'src/leased-sessions.ts',
    ],
    testedBy: 'pg-connection',
    // In-process tests only: a lambda-sim child bundles @thaw/db-core from the workspace, not the sandbox.
    note: "the pool (lease after a freeze, back-off, replacement), credentials (secret, IAM, rotation), the statement deadline and the registry, through its own tests and pg-connection's",
    skipTests: {
      files: ['test/options.test.ts'],
      why: "it compares pg-connection's defaults with db-connection's sources, which the sandbox does not hold",
    },
  },
  'tmp-store': {
    modules: ['src/read.ts', 'src/write.ts', 'src/budget.ts', 'src/lock.ts', 'src/stats.ts'],
    note: 'read, write, budget, locks',
  },
  'lambda-sim': {
    modules: [
      'src/process-tree.ts',
      'src/dispatch.ts',
      'src/outcomes.ts',
      'src/event.ts',
      'src/invocation.ts',
    ],
    functions: {
      'src/environment.ts': [
        '#ensureRunning',
        '#discard',
        '#becomeIdleIfDone',
        '#onNext',
        '#onAnswer',
        '#onTimeout',
        '#onExit',
        'crash',
      ],
      'src/runtime-process.ts': ['freeze', 'thaw', 'isOverMemory', '#onExit', 'shutdown'],
    },
    // The simulator itself runs in the test process; only the handlers run in children.
    note: 'freeze between invocations and reset after a timeout, an out-of-memory or a crash',
  },
}
