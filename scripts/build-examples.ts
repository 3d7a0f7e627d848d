// Builds every example into a Lambda-ready bundle, as its deployment would: one ESM file for
// nodejs24.x, minified, dependencies included (the AWS SDK too: the runtime's copy is whatever
// version Lambda ships that day), with the interop banner CommonJS dependencies need.
// `node scripts/build-examples.ts` builds them all and prints a size report.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, stop } from 'esbuild'

export const examplesDirectory = new URL('../examples/', import.meta.url).pathname

const commonJsInteropBanner = [
  "import { createRequire as __thawCreateRequire } from 'node:module';",
  'const require = __thawCreateRequire(import.meta.url);',
].join('\n')

export interface ExampleBundle {
  name: string
  file: string
  bytes: number
  gzipBytes: number
  buildMs: number
}

export const exampleNames = (): string[] =>
  readdirSync(examplesDirectory).filter((name) => {
    try {
      return statSync(join(examplesDirectory, name, 'src', 'handler.ts')).isFile()
    } catch {
      return false
    }
  })

// esbuild's service process is stopped when no build is left in flight, as @thaw/lambda-sim's
// bundler does (src/bundle.ts says why): the examples' tests import this file once per test file in a
// long-lived jest worker, and each import would otherwise keep a service of its own until the worker
// ends.
let buildsInFlight = 0

// Bundles one handler file as a deployment would; the examples and their hand-written twins alike.
export const buildBundle = async (entry: string, file: string): Promise<Omit<ExampleBundle, 'name'>> => {
  const started = performance.now()
  buildsInFlight += 1
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: 'linked',
    // In this workspace the thaw packages resolve to their sources; a user's build resolves the
    // published dist files through the same package names.
    conditions: ['@thaw/source'],
    banner: { js: commonJsInteropBanner },
    logLevel: 'warning',
  }).finally(() => {
    buildsInFlight -= 1
    if (buildsInFlight === 0) void stop()
  })
  const contents = readFileSync(file)
  return {
    file,
    bytes: contents.byteLength,
    gzipBytes: gzipSync(contents).byteLength,
    buildMs: performance.now() - started,
  }
}

export const buildExample = async (name: string): Promise<ExampleBundle> => {
  const exampleDirectory = join(examplesDirectory, name)
  const bundle = await buildBundle(
    join(exampleDirectory, 'src', 'handler.ts'),
    join(exampleDirectory, 'dist', 'index.mjs'),
  )
  return { name, ...bundle }
}

const kibibytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

if (import.meta.main) {
  const bundles = []
  for (const name of exampleNames()) bundles.push(await buildExample(name))
  console.log('| example | bundle | gzipped | build |')
  console.log('| --- | --: | --: | --: |')
  for (const bundle of bundles)
    console.log(
      `| ${bundle.name} | ${kibibytes(bundle.bytes)} | ${kibibytes(bundle.gzipBytes)} | ${bundle.buildMs.toFixed(0)} ms |`,
    )
}
