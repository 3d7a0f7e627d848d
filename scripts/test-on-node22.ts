// `pnpm test:node22`: the jest suite on Node 22, the other Lambda runtime thaw supports (nodejs22.x),
// beside `pnpm test` on the project's own Node 24. Node 22 comes from the npm package `node@22`,
// installed once into node_modules/.cache; lint and the type check do not depend on the Node version
// and run in `pnpm test` only. Extra arguments go to jest (`pnpm test:node22 --selectProjects util`).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const nodeVersion = '22.23.3'
const root = new URL('..', import.meta.url).pathname
const prefix = join(root, 'node_modules', '.cache', `node-${nodeVersion}`)
const node22 = join(prefix, 'node_modules', 'node', 'bin', 'node')

if (!existsSync(node22)) {
  mkdirSync(prefix, { recursive: true })
  console.log(`installing node@${nodeVersion} into ${prefix}`)
  const install = spawnSync(
    'npm',
    ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `node@${nodeVersion}`],
    { stdio: 'inherit' },
  )
  if (install.status !== 0) process.exit(install.status ?? 1)
}

const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim()
if (version !== `v${nodeVersion}`) {
  console.error(`expected Node v${nodeVersion} at ${node22}, found ${version || 'nothing'}`)
  process.exit(1)
}
console.log(`jest on Node ${version}`)
const jest = spawnSync(
  node22,
  ['--experimental-vm-modules', join(root, 'node_modules/jest/bin/jest.js'), ...process.argv.slice(2)],
  // Lambda-sim starts each environment with process.execPath: the handlers run on Node 22 too.
  { stdio: 'inherit', cwd: root },
)
process.exit(jest.status ?? 1)
