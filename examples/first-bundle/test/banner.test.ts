// Every deployable package, bundled unminified as an ESM handler with the banner AWS documents for
// ESM bundles, must load. The banner is text esbuild does not parse: a top-level `createRequire` or
// `require` of any bundled module keeps its name beside the banner's (esbuild renames only the
// collisions it can see), and the bundle then dies at init with "SyntaxError: Identifier
// 'createRequire' has already been declared". A minified bundle renames every top-level name and hides
// this, so it is checked without --minify, as CDK's NodejsFunction and SAM's `Minify: false` build.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { build } from 'esbuild'
import { documentedBanners } from './banners.ts'

const workspace = fileURLToPath(new URL('../../../', import.meta.url))

const deployable = ['util', 'sdk-clients', 'db-connection', 'tmp-store']

let scratch: string
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'thaw-banner-'))
})
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

const runModule = (file: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [file],
      { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' } },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    )
  })

describe.each(deployable)('@thaw/%s bundled unminified', (name) => {
  test.each(Object.entries(documentedBanners))('with the %s banner loads', async (banner, text) => {
    const entry = join(workspace, 'packages', name, 'src', 'index.ts')
    const outfile = join(scratch, `${name}-${banner.replaceAll(' ', '-')}.mjs`)
    await build({
      stdin: {
        contents: `import * as thaw from ${JSON.stringify(entry)}\nconsole.log(JSON.stringify(Object.keys(thaw).length))\n`,
        resolveDir: join(workspace, 'packages', name),
        sourcefile: 'handler.ts',
        loader: 'ts',
      },
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      minify: false,
      conditions: ['@thaw/source'],
      banner: { js: text },
      logLevel: 'silent',
    })
    const { code, stdout, stderr } = await runModule(outfile)
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(Number(stdout.trim())).toBeGreaterThan(1)
  })
})
