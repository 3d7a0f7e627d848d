// Loaded into every Node child a test starts during `pnpm mutate` (NODE_OPTIONS --import, added by
// child-coverage.cjs): it writes down which mutants the child's instrumented code reached, so that
// Stryker's per-test coverage includes what runs in lambda-sim environments and other children.
//
// Stryker's instrumented code counts what it reaches in globalThis.__stryker__.mutantCoverage of the
// process it runs in (@stryker-mutator/instrumenter 10.0.0); a child's counts die with it. They are
// written to THAW_MUTATION_COVERAGE_DIR/<pid>-<thread>.json (the ids reached so far, replaced whole
// through a rename) at two moments: when the runtime asks Lambda's Runtime API for its next event
// (right after init and after every invocation: lambda-sim freezes the process as that request
// arrives, so the write must happen before it leaves), and when the process exits. A process killed
// with SIGKILL in the middle of an invocation loses that invocation's counts; the mutant is then
// reported as not covered (a survivor), never as killed.
import { renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { threadId } from 'node:worker_threads'

const directory = process.env.THAW_MUTATION_COVERAGE_DIR

const writeReachedMutants = () => {
  const coverage = globalThis.__stryker__?.mutantCoverage
  if (directory === undefined || coverage === undefined) return
  const reached = new Set(Object.keys(coverage.static ?? {}))
  for (const perTest of Object.values(coverage.perTest ?? {}))
    for (const id of Object.keys(perTest)) reached.add(id)
  const file = `${directory}/${process.pid}-${threadId}.json`
  try {
    writeFileSync(`${file}.partial`, JSON.stringify([...reached]))
    renameSync(`${file}.partial`, file)
  } catch {
    // The directory is gone: the test file that started this child has ended.
  }
}

// aws-lambda-ric 4.0.2 takes `request` from node:http when its module is evaluated (after this
// preload) and asks for /2018-06-01/runtime/invocation/next with it (lambda-sim sets
// AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1, so this request goes through node:http).
const http = createRequire(import.meta.url)('node:http')
const request = http.request
http.request = function requestAfterWritingCoverage(options, ...rest) {
  if (typeof options === 'object' && options !== null && String(options.path).endsWith('/invocation/next'))
    writeReachedMutants()
  return request.call(this, options, ...rest)
}
process.on('exit', writeReachedMutants)
