// Each fleet function is bundled once, as a deployment would (esbuild, ESM, one file), and the same
// file is started in every environment of its fleet (lambda-sim's `prebuilt`): a hundred environments
// cost one build, not a hundred.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'

// The banner ESM Lambda bundles carry for CommonJS dependencies (mysql2 calls require): the same as
// @thaw/lambda-sim's bundle.ts, which does not export it.
const banner = [
  "import { createRequire as __thawCreateRequire } from 'node:module';",
  "import { fileURLToPath as __thawFileURLToPath } from 'node:url';",
  'const require = __thawCreateRequire(import.meta.url);',
  'const __filename = __thawFileURLToPath(import.meta.url);',
  "const __dirname = __thawFileURLToPath(new URL('.', import.meta.url));",
].join('\n')

const directory = mkdtempSync(join(tmpdir(), 'thaw-fleet-'))

export const bundleFleetHandler = async (name: string): Promise<string> => {
  const outfile = join(directory, name, 'index.mjs')
  await build({
    entryPoints: [new URL(`./handlers/${name}.ts`, import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    conditions: ['@thaw/source'],
    banner: { js: banner },
    outfile,
    logLevel: 'error',
  })
  return outfile
}
