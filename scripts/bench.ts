// `pnpm bench`: every package's benchmark, then the examples' bundle size and init time against
// hand-written handlers doing the same work, and one table of every ratio measured. Each package's
// benchmark runs in its own process (its variants interleaved in that one process, as it prints).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { startEnvironment } from '@thaw/lambda-sim'
import { buildBundle, buildExample } from './build-examples.ts'
import { assertDatabaseAnswers, databaseUrl } from './database-url.ts'

const root = new URL('..', import.meta.url).pathname
interface Ratio {
  source: string
  table: string
  variant: string
  ratio: string
}
const ratios: Ratio[] = []

try {
  await assertDatabaseAnswers()
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}

// A benchmark's tables are markdown; every row with a cell like "1.03x" is one ratio. A table whose
// rows each name their own baseline (a "baseline" column, as tmp-store's) says it beside the variant:
// two of its rows share a case and differ only in what they are compared with.
const collectRatios = (source: string, output: string) => {
  let table = ''
  let baselineColumn = -1
  for (const line of output.split('\n')) {
    const trimmed = line.trim()
    if (!trimmed.startsWith('|')) {
      if (trimmed) table = trimmed.replace(/[:(].*$/, '').trim()
      baselineColumn = -1
      continue
    }
    const cells = trimmed
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim().replaceAll('**', ''))
    const ratio = cells.find((cell, index) => index > 0 && /^\d+(\.\d+)?x( \/ \d+(\.\d+)?x)?$/.test(cell))
    if (!ratio) {
      const header = cells.indexOf('baseline')
      if (header > 0) baselineColumn = header
      continue
    }
    const baseline = baselineColumn > 0 ? cells[baselineColumn] : undefined
    if (cells[0])
      ratios.push({ source, table, variant: baseline ? `${cells[0]} vs ${baseline}` : cells[0], ratio })
  }
}

const runPackageBenchmark = (packageDirectory: string, script: string) =>
  new Promise<string>((resolve, reject) => {
    let output = ''
    const child = spawn('sh', ['-c', script], {
      cwd: packageDirectory,
      env: { ...process.env, PATH: `${join(packageDirectory, 'node_modules/.bin')}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text
      process.stdout.write(text)
    })
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${script} exited with ${code}`)),
    )
  })

for (const name of readdirSync(join(root, 'packages')).sort()) {
  const packageDirectory = join(root, 'packages', name)
  const script = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')).scripts?.bench
  if (!script) continue
  console.log(`\n## @thaw/${name}\n`)
  try {
    collectRatios(`@thaw/${name}`, await runPackageBenchmark(packageDirectory, script))
  } catch (error) {
    console.log(`(benchmark failed: ${(error as Error).message})`)
  }
}

// Comparisons across packages (thaw against Middy's own middlewares where they overlap).
for (const file of readdirSync(join(root, 'scripts', 'bench'))
  .filter((name) => name.endsWith('.bench.ts'))
  .sort()) {
  console.log(`\n## ${file}\n`)
  try {
    collectRatios(
      file,
      await runPackageBenchmark(root, `node --conditions=@thaw/source scripts/bench/${file}`),
    )
  } catch (error) {
    console.log(`(benchmark failed: ${(error as Error).message})`)
  }
}

// The same cold starts counted in instructions under valgrind (cold-start.bench.ts says how): the
// figure the machine's load does not move. About six minutes.
console.log('\n## cold-start.bench.ts --instructions\n')
try {
  collectRatios(
    'cold-start.bench.ts --instructions',
    await runPackageBenchmark(
      root,
      'node --conditions=@thaw/source scripts/bench/cold-start.bench.ts --instructions',
    ),
  )
} catch (error) {
  console.log(`(benchmark failed: ${(error as Error).message})`)
}

// The examples against hand-written twins doing the same work (scripts/bench/twins: the same secret,
// the same SDK clients built at init, the same Middy middlewares, the same /tmp file written safely);
// cold-start.bench.ts above times the same pairs through their first invocation.
console.log('\n## examples: bundle size and init time\n')
const twins = [
  { example: 'orders-api', handWritten: 'scripts/bench/twins/orders-hand-written.ts' },
  { example: 'report-from-s3', handWritten: 'scripts/bench/twins/report-hand-written.ts' },
  { example: 'all-together', handWritten: 'scripts/bench/twins/quote-hand-written.ts' },
]
const environmentVariables = {
  DATABASE_URL: databaseUrl(),
  DB_SECRET_ID: 'bench/unused',
  REPORT_BUCKET: 'bench',
  REPORT_KEY: 'bench.sqlite',
  CATALOGUE_BUCKET: 'bench',
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
// An example and its twin started in turn, round by round (the order swapped every round), so that
// a change in the machine's load falls on both alike.
const interleavedInitMs = async (files: [string, string], rounds = 7): Promise<[number, number]> => {
  const samples: [number[], number[]] = [[], []]
  for (let round = 0; round < rounds; round++) {
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const environment = await startEnvironment({
        entry: files[index] as string,
        prebuilt: true,
        env: environmentVariables,
      })
      samples[index]?.push(environment.lastInitDurationMs ?? Number.NaN)
      await environment.shutdown()
    }
  }
  return [median(samples[0]), median(samples[1])]
}
console.log(
  '| example | bundle | hand-written | size ratio | init (median of 7, interleaved) | hand-written init | init ratio |',
)
console.log('| --- | --: | --: | --: | --: | --: | --: |')
for (const { example, handWritten } of twins) {
  const bundle = await buildExample(example)
  const twinFile = join(root, 'examples', example, 'dist', 'hand-written.mjs')
  const twin = await buildBundle(join(root, handWritten), twinFile)
  const [initMs, twinInitMs] = await interleavedInitMs([bundle.file, twin.file])
  const sizeRatio = `${(bundle.bytes / twin.bytes).toFixed(2)}x`
  const initRatio = `${(initMs / twinInitMs).toFixed(2)}x`
  console.log(
    `| ${example} | ${(bundle.bytes / 1024).toFixed(0)} KiB | ${(twin.bytes / 1024).toFixed(0)} KiB | ${sizeRatio} | ${initMs.toFixed(1)} ms | ${twinInitMs.toFixed(1)} ms | ${initRatio} |`,
  )
  ratios.push({
    source: 'examples',
    table: 'bundle size vs hand-written',
    variant: example,
    ratio: sizeRatio,
  })
  ratios.push({ source: 'examples', table: 'init time vs hand-written', variant: example, ratio: initRatio })
}

console.log(
  `\n## every ratio, one table (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.versions.node})\n`,
)
console.log('| source | measurement | variant | ratio |')
console.log('| --- | --- | --- | --: |')
for (const { source, table, variant, ratio } of ratios)
  console.log(`| ${source} | ${table} | ${variant} | ${ratio} |`)
