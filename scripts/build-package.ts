// Builds the package in the current directory the way it is published: esbuild bundles each entry
// point into dist/ (ESM, Node 22 target, dependencies left external), tsc emits the declarations.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { build } from 'esbuild'

const packageDirectory = process.cwd()
const packageJson = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8'))
// Extra entry points (files a package starts in another process or thread) are listed in package.json.
const entryPoints = ['src/index.ts', ...(packageJson.thaw?.extraEntryPoints ?? [])]

rmSync(join(packageDirectory, 'dist'), { recursive: true, force: true })
await build({
  entryPoints,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
})

const typescriptCompiler = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [typescriptCompiler, '-p', join(packageDirectory, 'tsconfig.build.json')], {
  stdio: 'inherit',
})
console.log(`built ${packageJson.name}: ${entryPoints.join(', ')}`)
