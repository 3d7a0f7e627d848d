// The jest configuration Stryker runs (`pnpm mutate`, StrykerJS 10 with `projectType: 'custom'`): one
// package's project out of jest.config.ts, so that a mutant runs only the tests of the package it
// lives in. scripts/mutate.ts names the package in THAW_MUTATE_PROJECT. Nothing is redefined here:
// the transform, the export conditions and the timeouts are the root configuration's.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Config } from 'jest'
import rootConfig from './jest.config.ts'

type ProjectConfig = Exclude<NonNullable<Config['projects']>[number], string>

const root = fileURLToPath(new URL('.', import.meta.url))
const name = process.env.THAW_MUTATE_PROJECT
// The package mutated, when another package's tests prove it (scripts/mutate.ts's `testedBy`).
const mutated = process.env.THAW_MUTATE_PACKAGE ?? name
// The workspace the sandbox was copied from, whose packages keep their own node_modules.
const workspace = process.env.THAW_MUTATE_ROOT ?? root
const project = rootConfig.projects?.find(
  (each): each is ProjectConfig => typeof each === 'object' && each.displayName === name,
)
if (!project) {
  throw new Error(
    `stryker.jest.config.ts: THAW_MUTATE_PROJECT must name a jest project of jest.config.ts, got ${JSON.stringify(name)} (run it through \`pnpm mutate <package>\`)`,
  )
}

// A project's paths start with <rootDir>, the root's directory; here the package is the rootDir.
const fromRoot = (path: string): string => path.replace('<rootDir>/', root)
const { projects: _, globalSetup, ...shared } = rootConfig

// Stryker's per-test coverage wraps the test environment and loads it by name from the working
// directory; under pnpm's layout 'jest-environment-node' is only reachable from jest's own
// dependencies (jest → @jest/core → jest-config), so the wrapper is handed its path.
const resolvedEnvironment = (name: string | undefined): string | undefined => {
  if (name !== 'node') return name
  let require = createRequire(import.meta.url)
  for (const step of ['jest', '@jest/core', 'jest-config']) require = createRequire(require.resolve(step))
  return require.resolve('jest-environment-node')
}

const config: Config = {
  ...shared,
  ...project,
  rootDir: fromRoot(typeof project.rootDir === 'string' ? project.rootDir : root),
  testEnvironment: resolvedEnvironment(
    typeof project.testEnvironment === 'string' ? project.testEnvironment : undefined,
  ),
  ...(globalSetup ? { globalSetup: fromRoot(globalSetup) } : {}),
  // A package's own dependencies (pg for pg-connection) stay in the workspace: jest looks there after
  // the sandbox's node_modules, which is the workspace root's.
  modulePaths: [...new Set([name, mutated])].map((each) => `${workspace}packages/${each}/node_modules`),
  // The tests of another package import the mutated one by name, which the workspace's link resolves
  // to the original: point it at the sandbox's copy, where the mutants are.
  ...(mutated !== name
    ? { moduleNameMapper: { [`^@thaw/${mutated}$`]: `${root}packages/${mutated}/src/index.ts` } }
    : {}),
  // A package proven through another one's tests keeps its own tests too: both packages' test/ folders
  // are searched (jest crawls only its roots, and a project's testMatch names its own rootDir).
  ...(mutated !== name
    ? {
        roots: [name, mutated].map((each) => `${root}packages/${each}`),
        testMatch: [name, mutated].map((each) => `${root}packages/${each}/test/**/*.test.ts`),
      }
    : {}),
  // The test files scripts/mutate.ts's scope leaves out for this package (its `skipTests`, with why).
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(JSON.parse(process.env.THAW_MUTATE_SKIP_TESTS ?? '[]') as string[]).map(
      (file) => `/packages/${name}/${file.replaceAll('.', '\\.')}$`,
    ),
  ],
  // Mutants reach the Node children the tests start (lambda-sim environments), and what those children
  // reach counts as covered (scripts/mutate/child-coverage.cjs says how and why).
  setupFilesAfterEnv: [
    ...(Array.isArray(project.setupFilesAfterEnv) ? project.setupFilesAfterEnv.map(fromRoot) : []),
    `${root}scripts/mutate/child-coverage.cjs`,
  ],
}

export default config
