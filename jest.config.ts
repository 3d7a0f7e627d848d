import { existsSync, readdirSync } from 'node:fs'
import type { Config } from 'jest'

// One jest project per package: each package's tests run with the same ESM TypeScript transform
// and resolve workspace packages to their sources through the "@thaw/source" export condition.
const packageNames = readdirSync(new URL('./packages', import.meta.url))

const sharedProjectConfig = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@thaw/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
    ],
  },
}

const config: Config = {
  projects: [
    ...packageNames.map((name) => ({
      ...sharedProjectConfig,
      displayName: name,
      rootDir: `<rootDir>/packages/${name}`,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
    })),
    ...(existsSync(new URL('./examples', import.meta.url))
      ? [
          {
            ...sharedProjectConfig,
            displayName: 'examples',
            rootDir: '<rootDir>/examples',
            testMatch: ['<rootDir>/*/test/**/*.test.ts'],
          },
        ]
      : []),
  ],
  // The database-backed tests need a server: say so at once when there is none, rather than hang.
  globalSetup: '<rootDir>/scripts/jest-global-setup.ts',
  // Tests start real child processes and talk to a real MariaDB: give them room, but not forever.
  testTimeout: 30_000,
}

export default config
