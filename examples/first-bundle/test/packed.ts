// The packages as they are published: built (scripts/build-package.ts), packed with `pnpm pack`
// (dist/ only, workspace ranges rewritten to versions) into a folder outside this workspace.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const workspace = fileURLToPath(new URL('../../../', import.meta.url))

export const run = (command: string, args: string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 })

// The packages' directory names with every workspace package they depend on (`workspace:` ranges),
// dependencies first: a tarball installs only beside the tarballs of its workspace dependencies.
export const withWorkspaceDependencies = (names: string[]): string[] => {
  const ordered: string[] = []
  const visit = (name: string) => {
    if (ordered.includes(name)) return
    const manifest = JSON.parse(readFileSync(join(workspace, 'packages', name, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
    }
    for (const [dependency, range] of Object.entries(manifest.dependencies ?? {}))
      if (range.startsWith('workspace:') && dependency.startsWith('@thaw/'))
        visit(dependency.slice('@thaw/'.length))
    ordered.push(name)
  }
  for (const name of names) visit(name)
  return ordered
}

// Packs each package, and the workspace packages it depends on, into `destination`; returns each
// tarball's path by package directory name.
export const packPackages = (names: string[], destination: string): Record<string, string> => {
  const tarballs: Record<string, string> = {}
  for (const name of withWorkspaceDependencies(names)) {
    const directory = join(workspace, 'packages', name)
    run(process.execPath, [join(workspace, 'scripts', 'build-package.ts')], directory)
    const output = run('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', destination], directory)
    const tarball = readdirSync(destination).find((file) => file.startsWith(`thaw-${name}-`))
    if (!tarball) throw new Error(`pnpm pack made no tarball for ${name}: ${output}`)
    tarballs[name] = join(destination, tarball)
  }
  return tarballs
}

// Checks of the documentation (the compilers, the site) do not depend on the Node that runs jest:
// they run once, in `pnpm test` on the project's Node 24, and `pnpm test:node22` skips them, saying so,
// as it skips lint and the type check.
export const onProjectNode = Number(process.versions.node.split('.')[0]) >= 24
export const sayWhenSkippedOffProjectNode = (what: string) => {
  if (!onProjectNode)
    console.log(`${what} skipped on Node ${process.version}: they run on Node 24 in pnpm test`)
}
