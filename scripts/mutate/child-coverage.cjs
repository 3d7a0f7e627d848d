// A jest setup file for `pnpm mutate` only (stryker.jest.config.ts adds it): it makes the mutants of
// a package reach, and be seen in, the Node children its tests start (lambda-sim environments).
//
// Why it is needed: Stryker puts every mutant in the sandbox's code at once and switches one on
// through process.env.__STRYKER_ACTIVE_MUTANT__, and it learns which tests reach a mutant from the
// counts in globalThis.__stryker__ of the test process (@stryker-mutator/core and jest-runner
// 10.0.0). A lambda-sim environment runs the handler in aws-lambda-ric with Lambda's environment
// variables only, so without this a child never sees the active mutant and its counts never come back:
// such tests could not kill a mutant, and a mutant only they reach was reported as not covered.
//
// What it does:
// - every spawn of this Node binary gets __STRYKER_ACTIVE_MUTANT__ (when one is active) and the
//   preload (child-coverage-preload.mjs) that writes down the mutants the child reached;
// - after a test file's tests, the mutants its children reached are counted as covered by each test of
//   that file (a child started in beforeAll serves every test: a finer split would guess). A mutant
//   reached only in children then runs the tests of the files that reached it, and nothing else.
//
// It is CommonJS on purpose: jest builds a test file's `import { spawn } from 'node:child_process'`
// from the module object as it is when the test file is linked (jest-runtime 30.5.2,
// buildCoreSyntheticModule), after this file has replaced spawn; an ESM import here would build that
// module before the replacement.
const childProcess = require('node:child_process')
const { mkdirSync, readdirSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { pathToFileURL } = require('node:url')
const { afterAll, beforeAll, beforeEach, expect } = require('@jest/globals')

const directory = join(tmpdir(), `thaw-mutation-coverage-${process.pid}`)
const preload = pathToFileURL(join(__dirname, 'child-coverage-preload.mjs')).href
// The original spawn, kept on the module the first time: every test file wraps that one again.
const original = Symbol.for('thaw.mutate.originalSpawn')

// Wrapped anew for every test file, never once per worker. `process` here is the test file's own jest
// environment's (a copy of the runner's, made when that environment was created), and Stryker's jest
// runner sets __STRYKER_ACTIVE_MUTANT__ in the runner's environment before each mutant's run, so each
// run's environments see its mutant. A wrapper kept from the first test file read that file's copy,
// made in the dry run with no mutant active: every child of every later run was started without its
// mutant, and tests that only a child can fail never killed one (found on db-connection's
// secret.maxAgeMs test, which fails with its mutant applied by hand and survived it in a run).
childProcess[original] ??= childProcess.spawn
const spawn = childProcess[original]
childProcess.spawn = function spawnWithMutantCoverage(command, ...rest) {
  if (command !== process.execPath) return spawn.call(this, command, ...rest)
  // spawn(command, args?, options?): the arguments may be left out.
  const [args, options] = rest
  const argumentList = Array.isArray(args) ? args : []
  const spawnOptions = (Array.isArray(args) ? options : args) ?? {}
  const env = { ...(spawnOptions.env ?? process.env) }
  const activeMutant = process.env.__STRYKER_ACTIVE_MUTANT__
  if (activeMutant === undefined) delete env.__STRYKER_ACTIVE_MUTANT__
  else env.__STRYKER_ACTIVE_MUTANT__ = activeMutant
  env.THAW_MUTATION_COVERAGE_DIR = directory
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${preload}`.trim()
  return spawn.call(this, command, argumentList, { ...spawnOptions, env })
}

const testsOfThisFile = new Set()

beforeAll(() => {
  rmSync(directory, { recursive: true, force: true })
  mkdirSync(directory, { recursive: true })
})

beforeEach(() => {
  const name = expect.getState().currentTestName
  if (name !== undefined) testsOfThisFile.add(name)
})

afterAll(() => {
  const reached = new Set()
  for (const file of readdirSync(directory)) {
    if (!file.endsWith('.json')) continue
    for (const id of JSON.parse(readFileSync(join(directory, file), 'utf8'))) reached.add(id)
  }
  rmSync(directory, { recursive: true, force: true })
  const stryker = globalThis.__stryker__
  if (reached.size === 0 || stryker === undefined) return
  stryker.mutantCoverage ??= { static: {}, perTest: {} }
  for (const test of testsOfThisFile) {
    stryker.mutantCoverage.perTest[test] ??= {}
    const counts = stryker.mutantCoverage.perTest[test]
    for (const id of reached) counts[id] = (counts[id] ?? 0) + 1
  }
})
