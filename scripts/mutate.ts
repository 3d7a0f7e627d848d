// `pnpm mutate <package>`: StrykerJS over the modules of one package that carry a guarantee, with that
// package's jest project only (stryker.config.mjs holds what is shared, stryker.jest.config.ts picks
// the project). Slow by nature (every mutant is a test run), so it is a script and not part of CI.
//
//   pnpm mutate util                  the scope below, concurrency 2
//   pnpm mutate sdk-clients --concurrency 1 --incremental
//   pnpm mutate lambda-sim --list      what would be mutated (function ranges resolved), nothing run
//   pnpm mutate tmp-store --coverage off    every mutant against every test of the package (slow)
//   pnpm mutate lambda-sim --dry-run   the package's tests once in Stryker's sandbox, no mutant
//   pnpm mutate db-connection --module src/lease.ts --incremental
//                                      one module of the scope, with its own report and incremental
//                                      file (a long run in parts, each kept when the next is stopped)
//   pnpm mutate tmp-store --module 'src/budget.ts:#checkedLedger,#readLedger'
//                                      only those functions of the module
//
// --incremental keeps Stryker's incremental file under reports/mutation/, so a second run tests only
// the mutants whose code or covering tests changed. The HTML and JSON reports go to
// reports/mutation/<package>.{html,json}; the summary printed at the end is what docs/testing.md records.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { Stryker } from '@stryker-mutator/core'
import ts from 'typescript'
import { scopes } from './mutate/scopes.ts'

const root = new URL('..', import.meta.url).pathname

// Stryker ranges (`file:first-last`, 1-based lines) of the named functions of a module, found in its
// syntax tree so that the scope follows the code as it moves.
const functionRanges = (file: string, names: readonly string[]): string[] => {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found = new Map<string, string>()
  const nameOf = (node: ts.Node): string | undefined => {
    if (
      (ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) ||
        ts.isSetAccessorDeclaration(node)) &&
      node.name
    )
      return node.name.getText(source)
    if (
      (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node)) &&
      node.initializer &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
    )
      return node.name.getText(source)
    return undefined
  }
  const visit = (node: ts.Node): void => {
    const name = nameOf(node)
    if (name !== undefined && names.includes(name) && !found.has(name)) {
      const line = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1
      found.set(name, `${relative(root, file)}:${line(node.getStart(source))}-${line(node.getEnd())}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  const missing = names.filter((name) => !found.has(name))
  if (missing.length > 0)
    throw new Error(`scripts/mutate.ts: no function ${missing.join(', ')} in ${relative(root, file)}`)
  return [...found.values()]
}

// What Stryker reports for a mutant (mutation-testing-report-schema's statuses).
interface MutantOutcome {
  fileName: string
  status: string
  mutatorName: string
  replacement?: string
  location: { start: { line: number; column: number } }
}

const detected = new Set(['Killed', 'Timeout'])
const undetected = new Set(['Survived', 'NoCoverage'])

// Score as Stryker computes it: detected over detected plus undetected (compile and run-time errors,
// ignored mutants left out).
const summarise = (outcomes: readonly MutantOutcome[]) => {
  const count = (statuses: ReadonlySet<string>) => outcomes.filter((each) => statuses.has(each.status)).length
  const killed = count(detected)
  const survived = count(undetected)
  const score = killed + survived === 0 ? Number.NaN : (100 * killed) / (killed + survived)
  return {
    killed,
    survived,
    compileErrors: outcomes.filter((each) => each.status === 'CompileError').length,
    score,
  }
}

const main = async (): Promise<number> => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      concurrency: { type: 'string' },
      incremental: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      coverage: { type: 'string' },
      module: { type: 'string', multiple: true },
    },
  })
  const name = positionals[0]?.replace(/^@thaw\//, '')
  const scope = name !== undefined && Object.hasOwn(scopes, name) ? scopes[name] : undefined
  if (name === undefined || scope === undefined || positionals.length !== 1) {
    console.error(
      'usage: pnpm mutate <package> [--module src/x.ts[:function,...] ...] [--concurrency N] [--incremental] [--list] [--dry-run] [--coverage perTest|off]\n',
    )
    for (const [each, { modules, functions, note }] of Object.entries(scopes)) {
      const parts = [...modules, ...Object.entries(functions ?? {}).map(([m, f]) => `${m} (${f.join(', ')})`)]
      console.error(`  ${each.padEnd(14)} ${note}\n  ${''.padEnd(14)} ${parts.join(', ')}`)
    }
    return 2
  }
  const [major] = process.versions.node.split('.').map(Number)
  if (major !== 24) {
    console.error(`pnpm mutate runs on the project's Node 24 (through pnpm), not ${process.version}`)
    return 2
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency)
  if (concurrency !== undefined && !(Number.isSafeInteger(concurrency) && concurrency >= 1)) {
    console.error(`--concurrency must be a positive integer, got ${values.concurrency}`)
    return 2
  }

  // Per test by default, children included: scripts/mutate/child-coverage.cjs hands the active mutant
  // to the Node children the tests start and brings back what they reached. 'off' runs every test of
  // the package against every mutant (slow; a check on the per-test figures).
  const coverageAnalysis = values.coverage ?? 'perTest'
  if (coverageAnalysis !== 'perTest' && coverageAnalysis !== 'off') {
    console.error(`--coverage must be perTest or off, got ${values.coverage}`)
    return 2
  }

  // --module narrows the run to some modules of the scope. Stryker's incremental file holds only the
  // files of the run that wrote it, so each part gets its own report and incremental file.
  const inScope = [...scope.modules, ...Object.keys(scope.functions ?? {})]
  // `--module src/x.ts:a,#b` narrows a module further to those functions (a long run in smaller parts).
  const narrowed = new Map<string, string[]>()
  const picked = (values.module ?? []).map((each) => {
    const [module = each, names] = each.split(':')
    if (names) narrowed.set(module, names.split(','))
    return module
  })
  const outside = picked.filter((module) => !inScope.includes(module))
  if (outside.length > 0) {
    console.error(`--module must be one of ${inScope.join(', ')}; got ${outside.join(', ')}`)
    return 2
  }
  const wanted = (module: string) => picked.length === 0 || picked.includes(module)
  const reportName =
    picked.length === 0
      ? name
      : `${name}.${picked
          .map((module) =>
            [module.replace(/^src\//, '').replace(/\.ts$/, ''), ...(narrowed.get(module) ?? [])]
              .join('-')
              .replaceAll('#', ''),
          )
          .join('+')}`

  const packageDirectory = `packages/${name}`
  const functionsOf = (module: string) => narrowed.get(module) ?? scope.functions?.[module]
  const mutate = inScope.filter(wanted).flatMap((module) => {
    const names = functionsOf(module)
    return names === undefined
      ? [`${packageDirectory}/${module}`]
      : functionRanges(`${root}${packageDirectory}/${module}`, names)
  })
  if (values.list) {
    // What would be mutated, as Stryker is given it (the function ranges resolved), and nothing run.
    console.log(mutate.join('\n'))
    return 0
  }
  // The jest project of the package, read by stryker.jest.config.ts in Stryker's workers.
  process.env.THAW_MUTATE_PROJECT = scope.testedBy ?? name
  process.env.THAW_MUTATE_PACKAGE = name
  // Packages' own node_modules stay out of the sandbox (only the root's is linked there): where a
  // package's dependencies live (pg for pg-connection).
  process.env.THAW_MUTATE_ROOT = root
  process.env.THAW_MUTATE_SKIP_TESTS = JSON.stringify(scope.skipTests?.files ?? [])
  process.chdir(root)
  const started = performance.now()
  const stryker = new Stryker({
    configFile: 'stryker.config.mjs',
    mutate,
    coverageAnalysis,
    // Only the package's tests reach a mutant: an import by package name (another workspace
    // package, a lambda-sim fixture that names the package) loads the original through the
    // node_modules links, so copying the other packages into the sandbox buys nothing; the one
    // exception is the package whose tests prove this one (`testedBy`), mapped in stryker.jest.config.ts.
    ignorePatterns: [
      '/examples',
      '/packages/*',
      `!/packages/${name}`,
      ...(scope.testedBy ? [`!/packages/${scope.testedBy}`] : []),
      '**/dist',
      '**/.build',
      '/reports',
    ],
    jest: {
      projectType: 'custom',
      configFile: 'stryker.jest.config.ts',
      // Off: a test that reaches a mutant only through a child process imports nothing from src/, so
      // jest's related-tests search would leave it out. Per-test coverage picks the tests instead.
      enableFindRelatedTests: false,
    },
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    tsconfigFile: `${packageDirectory}/tsconfig.build.json`,
    htmlReporter: { fileName: `reports/mutation/${reportName}.html` },
    jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
    ...(values.incremental
      ? { incremental: true, incrementalFile: `reports/mutation/${reportName}.incremental.json` }
      : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
    // Only the initial test run in the sandbox: checks the set-up for a package without mutating.
    ...(values['dry-run'] ? { dryRunOnly: true } : {}),
  })
  const outcomes = (await stryker.runMutationTest()) as unknown as MutantOutcome[]
  const minutes = (performance.now() - started) / 60_000
  if (values['dry-run']) {
    console.log(
      `\n@thaw/${name}: the initial test run passed in Stryker's sandbox (${minutes.toFixed(1)} min)`,
    )
    return 0
  }

  const files = [...new Set(outcomes.map((each) => each.fileName))].sort()
  console.log(`\n@thaw/${name}: ${scope.note} (coverage analysis ${coverageAnalysis})`)
  console.log('| module | detected | undetected | compile errors | score |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const file of [...files, undefined]) {
    const { killed, survived, compileErrors, score } = summarise(
      file === undefined ? outcomes : outcomes.filter((each) => each.fileName === file),
    )
    const label = file === undefined ? '**all**' : relative(packageDirectory, relative(root, file))
    console.log(`| ${label} | ${killed} | ${survived} | ${compileErrors} | ${score.toFixed(1)} % |`)
  }
  const survivors = outcomes.filter((each) => undetected.has(each.status))
  if (survivors.length > 0) {
    console.log('\nundetected:')
    for (const each of survivors) {
      const where = `${relative(root, each.fileName)}:${each.location.start.line}:${each.location.start.column}`
      console.log(
        `  ${each.status} ${where} ${each.mutatorName}: ${(each.replacement ?? '').replace(/\s+/g, ' ')}`,
      )
    }
  }
  console.log(
    `\n${outcomes.length} mutants in ${minutes.toFixed(1)} min (concurrency ${concurrency ?? 2}, Node ${process.version})`,
  )
  return 0
}

process.exitCode = await main()
