// What the "Deploying" guide in the README says, measured: each example bundled the two ways a Lambda
// developer chooses between, with the AWS SDK inside the bundle, or left to the copy the Lambda
// runtime ships (esbuild `external: ['@aws-sdk/client-*']`; here the clients resolve from
// node_modules, as the runtime's copy does from /var/runtime/node_modules). For each: bundle size, gzip size, and the time
// to import the bundle in a fresh Node process (Lambda's init of the handler module), the two variants
// interleaved round by round; then where each package's bytes go in the bundled variant.
//
// node --conditions=@thaw/source scripts/bench/deploy.bench.ts [rounds]
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Metafile } from 'esbuild'

const rounds = Number(process.argv[2] ?? 15)
const examples = ['orders-api', 'report-from-s3', 'all-together']
const root = new URL('../../', import.meta.url).pathname
const banner =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

interface Variant {
  name: string
  file: string
  bytes: number
  gzipBytes: number
  metafile: Metafile
  initMs: number[]
}

const bundle = async (example: string, sdk: 'bundled' | 'runtime'): Promise<Variant> => {
  const directory = join(root, 'examples', example)
  const outdir = join(directory, 'dist', 'deploy-bench')
  mkdirSync(outdir, { recursive: true })
  const file = join(outdir, `${sdk}.mjs`)
  const result = await build({
    entryPoints: [join(directory, 'src', 'handler.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    conditions: ['@thaw/source'],
    banner: { js: banner },
    metafile: true,
    logLevel: 'warning',
    // The service clients are what the runtime's copy is used for; the rest of what they share
    // (@smithy/*, @aws-sdk/core) resolves from the client packages themselves, as it would there.
    ...(sdk === 'runtime' ? { external: ['@aws-sdk/client-*'] } : {}),
  })
  const contents = readFileSync(file)
  return {
    name: sdk === 'bundled' ? 'AWS SDK bundled' : 'AWS SDK from the runtime (external)',
    file,
    bytes: contents.byteLength,
    gzipBytes: gzipSync(contents).byteLength,
    metafile: result.metafile,
    initMs: [],
  }
}

// The time a fresh process takes to import the handler module: what Lambda's init does with it.
const measureInit = (file: string): number => {
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const started = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - started)`,
    ],
    { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } },
  )
  if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`)
  return Number(child.stdout.trim())
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Bytes in the output per package (node_modules/<name> or a workspace package), largest first.
const bytesPerPackage = (metafile: Metafile): [string, number][] => {
  const totals = new Map<string, number>()
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      // The last node_modules/<name> in the path: pnpm nests packages under node_modules/.pnpm.
      const fromNodeModules = [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/.][^/]*)\//g)].pop()?.[1]
      const fromWorkspace = /packages\/([^/]+)\/src\//.exec(input)?.[1]
      const name = fromNodeModules ?? (fromWorkspace ? `@thaw/${fromWorkspace}` : 'the handler')
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput)
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1])
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

for (const example of examples) {
  const variants = [await bundle(example, 'bundled'), await bundle(example, 'runtime')]
  // Warm the file system cache once, then interleave the variants round by round.
  for (const variant of variants) measureInit(variant.file)
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse()
    for (const variant of order) variant.initMs.push(measureInit(variant.file))
  }
  const [baseline] = variants as [Variant, Variant]
  console.log(`\n${example}: bundle and init, SDK bundled vs the runtime's (${rounds} interleaved rounds)\n`)
  console.log('| variant | bundle | gzip | init (median) | init ratio |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const variant of variants) {
    console.log(
      `| ${variant.name} | ${kib(variant.bytes)} | ${kib(variant.gzipBytes)} | ${median(variant.initMs).toFixed(1)} ms | ${(median(variant.initMs) / median(baseline.initMs)).toFixed(2)}x |`,
    )
  }
  console.log(`\n${example}: where the bundled variant's bytes go\n`)
  console.log('| package | bytes in the bundle |')
  console.log('| --- | ---: |')
  for (const [name, bytes] of bytesPerPackage(baseline.metafile).slice(0, 8)) {
    console.log(`| ${name} | ${kib(bytes)} |`)
  }
}
