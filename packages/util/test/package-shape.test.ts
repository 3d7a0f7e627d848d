// Every published package has the rooms and the names CONTRIBUTING.md gives it ("A package's rooms",
// "Names"), or is listed there under "Exceptions" with the checks it is excused from and why. The
// packages are read from packages/ as they are (a package added by a branch is checked when it lands);
// each check is a test of its own, so a failure names the package and the check.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from '@jest/globals'
import { isReservedKey, lambdaContextMembers } from '../src/index.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const packagesDir = join(root, 'packages')

interface Manifest {
  name: string
  private?: boolean
}

// Published packages: those whose package.json does not say `private: true`.
const published = readdirSync(packagesDir)
  .filter((dir) => existsSync(join(packagesDir, dir, 'package.json')))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter(({ manifest }) => manifest.private !== true)

// 'db-connection' → 'dbConnection', 'DbConnection', 'DB_CONNECTION'.
const camel = (dir: string) => dir.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
const upperSnake = (dir: string) => dir.toUpperCase().replaceAll('-', '_')

type Module = Record<string, unknown>
interface Package {
  dir: string
  name: string
  xxx: string
  source: (file: string) => string | undefined
  load: () => Promise<Module>
}

type Check = (pkg: Package) => Promise<string | undefined> | string | undefined

const exported = (pkg: Package, name: string, kind: 'function' | 'object') => async () => {
  const value = (await pkg.load())[name]
  if (typeof value !== kind || value === null) return `src/index.ts exports no ${kind} ${name}`
  return undefined
}

const room =
  (file: string): Check =>
  (pkg) =>
    pkg.source(file) === undefined ? `there is no ${file}` : undefined

// The checks, by the name CONTRIBUTING.md's exceptions use.
const checks: Record<string, Check> = {
  'src/index.ts': room('src/index.ts'),
  'src/middleware.ts': room('src/middleware.ts'),
  'src/options.ts': room('src/options.ts'),
  'src/errors.ts': room('src/errors.ts'),
  'src/stats.ts': room('src/stats.ts'),
  'src/types.ts': room('src/types.ts'),
  'default export': async (pkg) =>
    typeof (await pkg.load()).default === 'function'
      ? undefined
      : 'src/index.ts has no default export (the middleware)',
  packageName: async (pkg) => {
    const value = (await pkg.load()).packageName
    if (value !== pkg.name)
      return `src/index.ts exports packageName ${JSON.stringify(value)}, not '${pkg.name}'`
    const errors = pkg.source('src/errors.ts') ?? ''
    if (!errors.includes(`export const packageName = '${pkg.name}'`))
      return `packageName is not defined in src/errors.ts (export const packageName = '${pkg.name}')`
    return undefined
  },
  xxxDefaults: (pkg) => exported(pkg, `${pkg.xxx}Defaults`, 'object')(),
  xxxValidateOptions: (pkg) => exported(pkg, `${pkg.xxx}ValidateOptions`, 'function')(),
  xxxStats: async (pkg) => {
    const stats = (await pkg.load())[`${pkg.xxx}Stats`]
    if (typeof stats !== 'function') return `src/index.ts exports no function ${pkg.xxx}Stats`
    const counts = stats()
    return counts !== null && typeof counts === 'object' ? undefined : `${pkg.xxx}Stats() returns no object`
  },
  xxxOptionTable: async (pkg) => {
    const table = (await pkg.load())[`${pkg.xxx}OptionTable`]
    if (table === null || typeof table !== 'object') return `src/index.ts exports no ${pkg.xxx}OptionTable`
    const notRules = Object.entries(table).filter(
      ([, rule]) => typeof rule?.expected !== 'string' || typeof rule?.normalise !== 'function',
    )
    return notRules.length === 0
      ? undefined
      : `${pkg.xxx}OptionTable has entries that are not option rules: ${notRules.map(([name]) => name).join(', ')}`
  },
  'THAW_XXX_ codes': async (pkg) => {
    const codes = (await pkg.load())[`${pkg.xxx}ErrorCodes`]
    if (codes === null || typeof codes !== 'object') return `src/index.ts exports no ${pkg.xxx}ErrorCodes`
    const prefix = `THAW_${upperSnake(pkg.dir)}_`
    const others = Object.values(codes).filter((code) => typeof code !== 'string' || !code.startsWith(prefix))
    return others.length === 0 ? undefined : `codes that do not start with ${prefix}: ${others.join(', ')}`
  },
  // The context key is one rule for every package (@thaw/util's option.propertyKey).
  contextKey: async (pkg) => {
    const rule = ((await pkg.load())[`${pkg.xxx}OptionTable`] as Module | undefined)?.contextKey as
      | { normalise: (value: unknown, path: string, fail: () => never) => unknown }
      | undefined
    if (!rule) return `${pkg.xxx}OptionTable has no contextKey`
    const fail = () => {
      throw new TypeError('refused')
    }
    const accepted = ['__proto__', 'constructor', 'prototype', 'toString', ...lambdaContextMembers].filter(
      (key) => {
        try {
          rule.normalise(key, 'contextKey', fail)
          return true
        } catch {
          return false
        }
      },
    )
    return accepted.length === 0 ? undefined : `contextKey accepts the reserved names ${accepted.join(', ')}`
  },
  // The handler's context is @types/aws-lambda's Context, a dependency of the package.
  'Context from aws-lambda': (pkg) => {
    const types = pkg.source('src/types.ts') ?? ''
    if (!/import type \{[^}]*\bContext\b[^}]*\} from 'aws-lambda'/.test(types))
      return "src/types.ts does not import the Lambda Context from 'aws-lambda'"
    const manifest = JSON.parse(pkg.source('package.json') ?? '{}')
    return manifest.dependencies?.['@types/aws-lambda'] === undefined
      ? '@types/aws-lambda is not a dependency (a user’s tsc must resolve the public types)'
      : undefined
  },
  'middleware hooks named': (pkg) =>
    /\b\w+MiddlewareBefore\b/.test(pkg.source('src/middleware.ts') ?? '') &&
    (pkg.source('src/middleware.ts') ?? '').includes(`${pkg.xxx}MiddlewareBefore`)
      ? undefined
      : `src/middleware.ts names no ${pkg.xxx}MiddlewareBefore`,
}

// CONTRIBUTING.md's "Exceptions" table (a package that cannot have the shape) and its "Known gaps"
// table (a package that does not have it yet): | `package` | `check`, `check` | why |
const contributing = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8')
const section = (heading: string) =>
  contributing.split(new RegExp(`^### ${heading}$`, 'm'))[1]?.split(/^#/m)[0] ?? ''
const exceptions = new Map<string, { checks: string[]; why: string }>()
for (const line of [section('Exceptions'), section('Known gaps')].join('\n').split('\n')) {
  const match = /^\|\s*`([^`]+)`\s*\|([^|]*)\|\s*([^|]*?)\s*\|$/.exec(line)
  if (!match) continue
  const [, dir, listed, why] = match as unknown as [string, string, string, string]
  const checks = [...listed.matchAll(/`([^`]+)`/g)].map((check) => check[1] as string)
  const known = exceptions.get(dir)
  exceptions.set(dir, {
    checks: [...(known?.checks ?? []), ...checks],
    why: known ? `${known.why}; ${why}` : why,
  })
}

const packageOf = (dir: string, name: string): Package => {
  let loaded: Promise<Module> | undefined
  return {
    dir,
    name,
    xxx: camel(dir),
    source: (file) => {
      const path = join(packagesDir, dir, file)
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined
    },
    load: () => {
      loaded ??= import(join(packagesDir, dir, 'src/index.ts')) as Promise<Module>
      return loaded
    },
  }
}

const cases = published.flatMap(({ dir, manifest }) =>
  Object.keys(checks).map((check) => [dir, check, manifest.name] as const),
)

describe('every published package has the shape CONTRIBUTING.md gives it', () => {
  test('the packages are read from packages/, and each exception names a package and checks that exist, with why', () => {
    expect(published.map(({ dir }) => dir)).toEqual(
      expect.arrayContaining(['util', 'sdk-clients', 'tmp-store']),
    )
    expect(exceptions.size).toBeGreaterThan(0)
    for (const [dir, { checks: excused, why }] of exceptions) {
      expect({ dir, published: published.some((pkg) => pkg.dir === dir) }).toEqual({ dir, published: true })
      expect({ dir, unknown: excused.filter((check) => !(check in checks)) }).toEqual({ dir, unknown: [] })
      expect({ dir, why: why.length > 10 }).toEqual({ dir, why: true })
    }
  })

  test.each(cases)('%s: %s', async (dir, check, name) => {
    const problem = await (checks[check] as Check)(packageOf(dir, name))
    const excused = exceptions.get(dir)?.checks.includes(check) ?? false
    // An exception that no longer excuses anything is stale: remove it from CONTRIBUTING.md.
    expect({ problem: problem ?? 'none', excused }).toEqual(
      excused ? { problem: expect.not.stringMatching(/^none$/), excused } : { problem: 'none', excused },
    )
  })

  test('the reserved names the contextKey check uses are the rule itself', () => {
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString', ...lambdaContextMembers])
      expect(isReservedKey(key)).toBe(true)
  })
})
