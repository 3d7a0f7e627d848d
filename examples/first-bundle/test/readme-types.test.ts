// Every TypeScript example in the READMEs compiles as a strict user's project compiles it: the packed
// packages installed with npm outside the workspace, with only what the example's install line
// installs (its imports, mysql2 beside db-connection, the optional peer of an option it uses), under
// `strict` with `skipLibCheck: false`, on TypeScript 5.9 and on the TypeScript 7 preview
// (@typescript/native-preview, tsgo). Any diagnostic fails it, in thaw's declarations too: the optional
// AWS peers are typed structurally (db-core's types.ts), so an example that leaves them out compiles.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { onProjectNode, packPackages, run, sayWhenSkippedOffProjectNode, workspace } from './packed.ts'

jest.setTimeout(600_000)

sayWhenSkippedOffProjectNode('README type checks')
const describeOnProjectNode = onProjectNode ? describe : describe.skip

// lambda-sim's README is its maintainers' (a test tool whose examples start processes); test-support
// is never published.
const readmes = [
  'README.md',
  'packages/db-connection/README.md',
  'packages/pg-connection/README.md',
  'packages/sdk-clients/README.md',
  'packages/tmp-store/README.md',
  'packages/util/README.md',
]
const packed = ['util', 'sdk-clients', 'db-connection', 'pg-connection', 'tmp-store']

// What the README's TypeScript section tells a `skipLibCheck: false` user to add for Middy's own types.
const forMiddyTypes = '@aws/durable-execution-sdk-js'

interface Example {
  readme: string
  index: number
  code: string
  needs: string[]
}

const packageOf = (specifier: string) =>
  specifier.startsWith('@')
    ? specifier.split('/').slice(0, 2).join('/')
    : (specifier.split('/')[0] ?? specifier)

const examples: Example[] = readmes.flatMap((readme) => {
  const text = readFileSync(join(workspace, readme), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match, index) => {
    const code = match[1] ?? ''
    const imported = [...code.matchAll(/(?:from |import\()'([^'.][^']*)'/g)]
      .map((specifier) => specifier[1] ?? '')
      .filter((specifier) => !specifier.startsWith('node:'))
      .map(packageOf)
    const needs = new Set(imported)
    if (needs.has('@thaw/db-connection')) needs.add('mysql2')
    if (needs.has('@thaw/db-connection') || needs.has('@thaw/pg-connection')) {
      if (/\bsecret: /.test(code)) needs.add('@aws-sdk/client-secrets-manager')
      if (/\biam: /.test(code)) needs.add('@aws-sdk/rds-signer')
    }
    return { readme, index, code, needs: [...needs].sort() }
  })
})

// The install lines of a README: every package an `npm install` line in a sh block names.
const installLines = (readme: string) =>
  [...readFileSync(join(workspace, readme), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((match) => (match[1] ?? '').split('\n'))
    .filter((line) => line.startsWith('npm install'))
    .flatMap((line) => (line.split('#')[0] ?? '').split(/\s+/).slice(2))
    .filter((word) => !word.startsWith('-'))

let scratch: string
let tools: string
let tsgoAvailable = false
const projects = new Map<string, string>()
let tarballs: Record<string, string>

const npmInstall = (cwd: string, args: string[]) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...args], cwd)

beforeAll(() => {
  if (!onProjectNode) return
  scratch = mkdtempSync(join(tmpdir(), 'thaw-readme-types-'))
  tarballs = packPackages(packed, scratch)
  tools = join(scratch, 'tools')
  mkdirSync(tools)
  writeFileSync(join(tools, 'package.json'), '{"private":true}')
  npmInstall(tools, ['typescript@5.9.3'])
  try {
    npmInstall(tools, ['@typescript/native-preview'])
    tsgoAvailable = true
  } catch (error) {
    console.log(`TypeScript 7 preview not installable here, checked on 5.9 only: ${(error as Error).message}`)
  }
  for (const example of examples) {
    const key = example.needs.join(' ')
    if (projects.has(key)) continue
    const directory = join(scratch, `project-${projects.size}`)
    mkdirSync(join(directory, 'src'), { recursive: true })
    writeFileSync(
      join(directory, 'package.json'),
      JSON.stringify({ name: `readme-types-${projects.size}`, private: true, type: 'module' }),
    )
    writeFileSync(
      join(directory, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          types: ['node'],
          noEmit: true,
        },
        include: ['src'],
      }),
    )
    // Every tarball at once, as the README's "before the first release" section installs them.
    const thaw = Object.values(tarballs)
    const others = example.needs.filter((name) => !name.startsWith('@thaw/'))
    npmInstall(directory, [...thaw, ...others, '@middy/core@7', '@types/node@24', forMiddyTypes])
    projects.set(key, directory)
  }
})

afterAll(() => {
  if (!onProjectNode) return
  if (scratch) rmSync(scratch, { recursive: true, force: true })
  console.log(`compiled with TypeScript 5.9${tsgoAvailable ? ' and the TypeScript 7 preview' : ''}`)
})

const compile = (compiler: 'tsc' | 'tsgo', project: string) =>
  new Promise<string[]>((resolve) => {
    const binary =
      compiler === 'tsc'
        ? [process.execPath, join(tools, 'node_modules', 'typescript', 'bin', 'tsc')]
        : [join(tools, 'node_modules', '.bin', 'tsgo')]
    const [command = '', ...args] = binary
    execFile(
      command,
      [...args, '-p', project, '--pretty', 'false'],
      { cwd: project, encoding: 'utf8', timeout: 120_000 },
      (_error, stdout) => {
        const lines = stdout.split('\n').filter((line) => /error TS\d+/.test(line))
        resolve(lines)
      },
    )
  })

describeOnProjectNode.each(readmes)('%s', (readme) => {
  const own = examples.filter((example) => example.readme === readme)

  test('has a TypeScript example, and its install lines name what the examples import', () => {
    const installed = new Set(installLines(readme))
    const named = readme === 'README.md' ? installed : new Set([...installed, ...installLines('README.md')])
    if (readme !== 'packages/util/README.md') expect(own.length).toBeGreaterThan(0)
    for (const example of own) {
      const missing = example.needs.filter((name) => !named.has(name) && !name.startsWith('@thaw/util'))
      expect({ example: example.index, missing }).toEqual({ example: example.index, missing: [] })
    }
  })
})

// util's README has no TypeScript example (it is installed as a dependency, never used directly).
const withExamples = readmes.filter((readme) => examples.some((example) => example.readme === readme))

describeOnProjectNode.each(withExamples)('%s', (readme) => {
  test.each(
    examples
      .filter((example) => example.readme === readme)
      .map((example) => [example.index, example] as const),
  )('example %i compiles under strict, skipLibCheck false', async (index, example) => {
    const project = projects.get(example.needs.join(' ')) ?? ''
    const file = join(project, 'src', `${readme.replaceAll('/', '-')}-${index}.ts`)
    writeFileSync(file, example.code)
    try {
      expect(await compile('tsc', project)).toEqual([])
      if (tsgoAvailable) expect(await compile('tsgo', project)).toEqual([])
    } finally {
      rmSync(file)
    }
  })
})
