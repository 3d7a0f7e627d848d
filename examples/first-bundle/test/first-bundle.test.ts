// The first bundle a user makes, made the way they make it: the packages packed as they are published
// (`pnpm pack`: dist/ only, workspace fields rewritten), installed with npm into a folder outside this
// workspace, bundled with esbuild for Lambda (ESM with the require banner, and CJS), then run.
// A handler with `config` alone must bundle and run with none of db-connection's optional peers
// installed, and carry none of their code; `secret` needs only @aws-sdk/client-secrets-manager, `iam`
// only @aws-sdk/rds-signer.
import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { startEnvironment } from '@thaw/lambda-sim'
import { databaseUrl, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import { build } from 'esbuild'
import mysql from 'mysql2/promise'
import { documentedBanners } from './banners.ts'
import { packPackages, run, workspace } from './packed.ts'

// Building, packing and an npm install from the registry take a minute on a busy two-core machine.
jest.setTimeout(300_000)

const sources = fileURLToPath(new URL('../src/', import.meta.url))
const packed = ['util', 'sdk-clients', 'db-connection']
// The banner exactly as AWS documents it and the Deploying guide prints it: its `createRequire` must
// not collide with a name of thaw's in an unminified bundle.
const esmBanner = documentedBanners.aws

let scratch: string
let app: string
const tarballs: Record<string, string> = {}

const npm = (args: string[]) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], app)

const installed = (name: string) => existsSync(join(app, 'node_modules', ...name.split('/')))

// Bundles one of ./src's handlers from inside the app, as the user's esbuild would; returns the
// file and the package paths esbuild took in.
const bundle = async (name: string, format: 'esm' | 'cjs') => {
  const outfile = join(app, 'dist', `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`)
  const result = await build({
    absWorkingDir: app,
    entryPoints: [join(app, 'src', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format,
    metafile: true,
    logLevel: 'silent',
    ...(format === 'esm' ? { banner: { js: esmBanner } } : {}),
  })
  return { outfile, inputs: Object.keys(result.metafile.inputs) }
}

// Runs a bundle's handler in a plain Node process, with a Lambda-like context. Asynchronously: the
// Secrets Manager peer it may call answers from this very process.
const runBundle = async (file: string, env: Record<string, string> = {}) => {
  const script = `
    const load = ${JSON.stringify(file)}.endsWith('.cjs') ? Promise.resolve(require(${JSON.stringify(file)})) : import(${JSON.stringify(file)})
    load.then(({ handler }) => handler({}, { getRemainingTimeInMillis: () => 10_000, functionName: 'first-bundle', awsRequestId: 'r1' }))
      .then((result) => { console.log(JSON.stringify({ ok: true, result })); process.exit(0) },
            (error) => { console.log(JSON.stringify({ ok: false, code: error.code, message: error.message })); process.exit(0) })`
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['-e', script],
      { cwd: app, encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } },
      (_error, out, err) => resolve({ stdout: out, stderr: err }),
    )
  })
  const line = stdout.trim().split('\n').pop() ?? ''
  if (!line.startsWith('{')) throw new Error(`the bundle did not answer: ${stderr}`)
  return JSON.parse(line) as { ok: boolean; result?: unknown; code?: string; message?: string }
}

const peerPaths = ['@aws-sdk/client-secrets-manager', '@aws-sdk/rds-signer']
const carried = (inputs: string[]) =>
  peerPaths.filter((peer) => inputs.some((input) => input.includes(`node_modules/${peer}/`)))
// sdk-clients (which db-connection builds its Secrets Manager client with) depends on
// @aws-sdk/credential-providers for `assumeRole`, and loads it only for a role: never in these bundles.
const carriesCredentialProviders = (inputs: string[]) =>
  inputs.some((input) => input.includes('node_modules/@aws-sdk/credential-providers/'))

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'thaw-first-bundle-'))
  Object.assign(tarballs, packPackages(packed, scratch))
  app = join(scratch, 'app')
  cpSync(sources, join(app, 'src'), { recursive: true })
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'first-bundle-app',
      private: true,
      type: 'module',
      dependencies: {
        '@middy/core': '7.9.2',
        // What `npm install mysql2` gives a user today: the newest 3.x, within db-connection's peer range.
        mysql2: 'latest',
        ...Object.fromEntries(
          Object.entries(tarballs).map(([name, file]) => [`@thaw/${name}`, `file:${file}`]),
        ),
      },
      devDependencies: { esbuild: '0.28.2' },
    }),
  )
  npm(['install'])
})

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('a handler with config alone', () => {
  test('installs without any optional peer', () => {
    expect(installed('@thaw/db-connection')).toBe(true)
    for (const peer of peerPaths) expect(installed(peer)).toBe(false)
  })

  test.each(['esm', 'cjs'] as const)(
    'bundles as %s with no peer code, and answers from MariaDB',
    async (format) => {
      const { outfile, inputs } = await bundle('config-only', format)
      expect(inputs.some((input) => input.includes('node_modules/@thaw/db-connection/dist/'))).toBe(true)
      expect(carried(inputs)).toEqual([])
      expect(carriesCredentialProviders(inputs)).toBe(false)
      expect(await runBundle(outfile, { DATABASE_URL: databaseUrl() })).toEqual({
        ok: true,
        result: [{ two: 2 }],
      })
    },
  )

  test('lambda-sim bundles it the same way and runs it', async () => {
    const environment = await startEnvironment({
      entry: join(app, 'src', 'config-only.ts'),
      env: { DATABASE_URL: databaseUrl() },
    })
    try {
      const outcome = await environment.invoke({})
      expect(outcome.ok ? outcome.result : outcome.error).toEqual([{ two: 2 }])
    } finally {
      await environment.shutdown()
    }
  })
})

// The Deploying guide, word for word: its esbuild commands are read from the root README and run in the
// app (with and without --minify), then the SAM templates' esbuild settings (Minify true and false).
// Each bundle runs under AWS's runtime interface client (lambda-sim, prebuilt), frozen between two
// invocations, in a "type": "module" project and in the "type": "commonjs" one `npm init -y` writes.
const readme = readFileSync(join(workspace, 'README.md'), 'utf8')
const deployingSection = readme.slice(
  readme.indexOf('## Deploying'),
  readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1),
)
const guideCommands = [...deployingSection.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((match) => (match[1] ?? '').split('\n'))
  .filter((line) => line.startsWith('npx esbuild '))
const guideCommand = (index: number): string => {
  const command = guideCommands[index]
  if (command === undefined)
    throw new Error(`the README's Deploying section has no esbuild command ${index + 1}`)
  return command
}

// The examples' SAM build settings (orders-api's template; the three templates share them).
const samTemplate = readFileSync(join(workspace, 'examples', 'orders-api', 'template.yaml'), 'utf8')
const samSetting = (name: string) => {
  const match = new RegExp(`^ {8}${name}:\\s*(.*)$`, 'm').exec(samTemplate)
  if (!match) throw new Error(`orders-api/template.yaml has no BuildProperties ${name}`)
  return (match[1] ?? '').trim()
}
const samListSetting = (name: string) => {
  const match = new RegExp(`^ {8}${name}:\\n {10}- (.*)$`, 'm').exec(samTemplate)
  if (!match) throw new Error(`orders-api/template.yaml has no BuildProperties ${name}`)
  return (match[1] ?? '').trim()
}

const withMinify = (command: string, minify: boolean) =>
  minify ? command.replace(' --bundle ', ' --bundle --minify ') : command.replace(' --minify', '')

// Moves a bundle into a directory of its own inside the app (the runtime takes the first of
// handler.js, .mjs, .cjs it finds) and runs it there: init, an invocation, a freeze, another.
const runInRuntime = async (file: string) => {
  const directory = join(app, 'deployed', `${Date.now()}-${Math.random().toString(36).slice(2)}`)
  mkdirSync(directory, { recursive: true })
  const deployed = join(directory, file.slice(file.lastIndexOf('/') + 1))
  renameSync(file, deployed)
  const environment = await startEnvironment({
    entry: deployed,
    prebuilt: true,
    env: { DATABASE_URL: databaseUrl() },
  })
  try {
    const first = await environment.invoke({})
    expect(environment.isFrozen).toBe(true)
    const second = await environment.invoke({})
    return { first, second }
  } finally {
    await environment.shutdown()
  }
}

const setProjectType = (type: 'module' | 'commonjs') => {
  const file = join(app, 'package.json')
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), type }))
}

describe('the Deploying guide, as written', () => {
  beforeAll(() => {
    cpSync(join(sources, 'config-only.ts'), join(app, 'src', 'handler.ts'))
  })
  afterAll(() => setProjectType('module'))

  test('the README gives an ESM and a CommonJS command, with the banner AWS documents', () => {
    expect(guideCommands).toHaveLength(2)
    expect(guideCommand(0)).toContain(`--banner:js="${documentedBanners.aws}"`)
    expect(guideCommand(0)).toContain('--outfile=dist/handler.mjs')
    expect(guideCommand(1)).toContain('--format=cjs --outfile=dist/handler.cjs')
  })

  describe.each(['module', 'commonjs'] as const)('in a "type": "%s" project', (type) => {
    beforeAll(() => setProjectType(type))

    test.each([
      ['ESM', 0, false],
      ['ESM', 0, true],
      ['CommonJS', 1, false],
      ['CommonJS', 1, true],
    ] as const)('%s (command %i), minified: %s, runs warm after a freeze', async (_format, index, minify) => {
      const command = withMinify(guideCommand(index), minify)
      run('sh', ['-c', command], app)
      const outfile = join(app, /--outfile=(\S+)/.exec(command)?.[1] ?? '')
      const { first, second } = await runInRuntime(outfile)
      expect(first.ok ? first.result : first.error).toEqual([{ two: 2 }])
      expect(second.ok ? second.result : second.error).toEqual([{ two: 2 }])
      expect([first.coldStart, second.coldStart]).toEqual([true, false])
    })
  })

  // Why the guide names its outputs .mjs and .cjs: the CommonJS bundle as dist/handler.js in a
  // "type": "module" project is loaded as ESM, and fails at init with the message the guide quotes.
  test('a CommonJS bundle named handler.js fails in a "type": "module" project, as the guide says', async () => {
    setProjectType('module')
    run('sh', ['-c', guideCommand(1).replace('dist/handler.cjs', 'dist/handler.js')], app)
    await expect(runInRuntime(join(app, 'dist', 'handler.js'))).rejects.toThrow(
      'module is not defined in ES module scope',
    )
    expect(deployingSection).toContain('ReferenceError: module is not defined in ES module scope')
  })

  test.each([true, false])("the SAM templates' esbuild settings with Minify: %s", async (minify) => {
    expect(samSetting('Format')).toBe('esm')
    const result = await build({
      absWorkingDir: app,
      entryPoints: [join(app, 'src', 'handler.ts')],
      outdir: join(app, 'sam-build'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      outExtension: Object.fromEntries([samListSetting('OutExtension').split('=')]),
      target: samSetting('Target'),
      minify,
      sourcemap: samSetting('Sourcemap') === 'true',
      banner: { js: samListSetting('Banner').replace(/^js=/, '') },
      logLevel: 'silent',
    })
    expect(result.errors).toEqual([])
    const { first, second } = await runInRuntime(join(app, 'sam-build', 'handler.mjs'))
    expect(first.ok ? first.result : first.error).toEqual([{ two: 2 }])
    expect(second.ok ? second.result : second.error).toEqual([{ two: 2 }])
  })
})

describe('a handler whose option needs a peer that is not installed', () => {
  // The bundle builds (the peer is required by a name held in a variable, which bundlers leave
  // alone); the first invocation says what to install, naming the option that needs it.
  test.each([
    ['with-secret', 'secret', '@aws-sdk/client-secrets-manager'],
    ['with-iam', 'iam', '@aws-sdk/rds-signer'],
  ])('%s fails its invocation naming the option and the package', async (name, option, peer) => {
    expect(installed(peer)).toBe(false)
    const { outfile } = await bundle(name, 'esm')
    const outcome = await runBundle(outfile, {
      DATABASE_URL: databaseUrl(),
      DB_HOST: '127.0.0.1',
      DB_PORT: '1',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDFIRSTBUNDLE',
      AWS_SECRET_ACCESS_KEY: 'first-bundle-secret',
    })
    // The message names the option, the package and the install line (docs/troubleshooting.md quotes it);
    // what it offers after that may grow (the `sdk` way to bundle a pinned copy).
    expect(outcome).toMatchObject({ ok: false, code: 'THAW_DB_CONNECTION_CREDENTIALS' })
    const said = `@thaw/db-connection: option '${option}' needs the package ${peer}: install it (npm install ${peer})`
    expect(outcome.message?.slice(0, said.length)).toBe(said)
    // And the way out that works in a bundle.
    expect(outcome.message).toContain(`bundle it with ${option}: { …, sdk: () => import('${peer}') }`)
  })
})

describe('a handler with secret', () => {
  let peer: SecretsManagerPeer
  let admin: mysql.Connection
  const user = 'thaw_first_bundle'

  beforeAll(async () => {
    npm(['install', '@aws-sdk/client-secrets-manager@3.1164.0'])
    peer = await startSecretsManagerPeer()
    admin = await mysql.createConnection(databaseUrl())
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'bundle-password'`)
    peer.setSecret('app/db', { username: user, password: 'bundle-password' })
  })

  afterAll(async () => {
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await admin?.end()
    await peer?.close()
  })

  test.each(['esm', 'cjs'] as const)(
    'bundles as %s without IAM code, and logs in with the secret',
    async (format) => {
      expect(installed('@aws-sdk/rds-signer')).toBe(false)
      const { outfile, inputs } = await bundle('with-secret', format)
      expect(carried(inputs)).not.toContain('@aws-sdk/rds-signer')
      expect(carriesCredentialProviders(inputs)).toBe(false)
      const server = new URL(databaseUrl())
      const outcome = await runBundle(outfile, {
        DATABASE_URL: `mysql://${server.host}/`,
        DB_SECRET_ID: 'app/db',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDFIRSTBUNDLE',
        AWS_SECRET_ACCESS_KEY: 'first-bundle-secret',
      })
      expect(outcome).toEqual({ ok: true, result: [{ user: `${user}@%` }] })
    },
  )
})

describe('a handler with iam', () => {
  beforeAll(() => {
    npm(['uninstall', '@aws-sdk/client-secrets-manager'])
    npm(['install', '@aws-sdk/rds-signer@3.1175.0'])
  })

  test.each(['esm', 'cjs'] as const)(
    'bundles as %s without Secrets Manager code, and signs a token',
    async (format) => {
      expect(installed('@aws-sdk/client-secrets-manager')).toBe(false)
      const { outfile, inputs } = await bundle('with-iam', format)
      expect(carried(inputs)).not.toContain('@aws-sdk/client-secrets-manager')
      // Nothing listens on port 1: the token is signed (locally) first, then the connect is refused. A
      // missing signer would fail before any connect, with THAW_DB_CONNECTION_CREDENTIALS.
      const outcome = await runBundle(outfile, {
        DB_HOST: '127.0.0.1',
        DB_PORT: '1',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDFIRSTBUNDLE',
        AWS_SECRET_ACCESS_KEY: 'first-bundle-secret',
      })
      expect(outcome.ok).toBe(false)
      expect(outcome.code).toBe('ECONNREFUSED')
    },
  )
})
