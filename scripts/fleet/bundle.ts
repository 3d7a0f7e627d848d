// Each fleet function is bundled once, as a deployment would (esbuild, ESM, one file), and the same
// file is started in every environment of its fleet (lambda-sim's `prebuilt`): a hundred environments
// cost one build, not a hundred.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commonJsInteropBanner } from '@thaw/lambda-sim'
import { build } from 'esbuild'

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
    banner: { js: commonJsInteropBanner },
    outfile,
    logLevel: 'error',
  })
  return outfile
}
