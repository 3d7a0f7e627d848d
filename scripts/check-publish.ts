// `pnpm check:publish`: what `pnpm publish` would ship, checked before anything is published. Each
// public package is built and packed as pnpm publishes it (publishConfig applied, workspace ranges
// rewritten), then checked by publint (package.json against the files) and by Are the Types Wrong
// with its ESM-only profile: the packages are ESM-only, as Middy 7 is (see the README), so a CommonJS
// `require()` of them is expected to fail and is not reported. Ends with `pnpm publish --recursive
// --dry-run`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const pnpm = ['-y', 'pnpm@12.4.2']
const destination = mkdtempSync(join(tmpdir(), 'thaw-publish-check-'))

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } })

const publicPackages = readdirSync(join(root, 'packages')).filter((name) => {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'))
  return manifest.private !== true
})

let failures = 0
try {
  for (const name of publicPackages) {
    const directory = join(root, 'packages', name)
    console.log(`\n== @thaw/${name}`)
    try {
      run(process.execPath, [join(root, 'scripts', 'build-package.ts')], directory)
      run(bin('publint'), ['--strict', '--pack', 'pnpm'], directory)
      run('npx', [...pnpm, 'pack', '--pack-destination', destination], directory)
      const tarball = readdirSync(destination).find((file) => file.startsWith(`thaw-${name}-`))
      if (!tarball) throw new Error(`no tarball for ${name}`)
      const manifest = JSON.parse(
        execFileSync('tar', ['-xzOf', join(destination, tarball), 'package/package.json'], {
          encoding: 'utf8',
        }),
      )
      // The workspace-only condition and protocol never reach a user's resolver.
      const resolved = JSON.stringify([manifest.exports, manifest.dependencies, manifest.peerDependencies])
      if (resolved.includes('@thaw/source') || resolved.includes('workspace:')) {
        throw new Error(`the packed exports or dependencies of ${name} still name @thaw/source or workspace:`)
      }
      run(
        bin('attw'),
        [join(destination, tarball), '--profile', 'esm-only', '--format', 'table-flipped'],
        root,
      )
    } catch (error) {
      failures++
      console.error(`@thaw/${name}: ${(error as Error).message}`)
    }
  }
  console.log('\n== pnpm publish --recursive --dry-run')
  try {
    run('npx', [...pnpm, 'publish', '--recursive', '--dry-run', '--no-git-checks'], root)
  } catch (error) {
    failures++
    console.error((error as Error).message)
  }
} finally {
  rmSync(destination, { recursive: true, force: true })
}
console.log(failures === 0 ? '\npublish check: clean' : `\npublish check: ${failures} problem(s)`)
process.exit(failures === 0 ? 0 : 1)
