// The credential sources, for two drivers in one process, against a local Secrets Manager peer:
// concurrent connects share one GetSecretValue, a refused password is fetched anew once, a secret
// past maxAgeMs is read again, each driver counts its own fetches and tokens and fails with its own
// error, and no error shows a secret's value.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Request } from '@middy/core'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import {
  type CredentialSettings,
  credentialCounters,
  credentialSource,
  type DbDriver,
  type IamOptions,
  type InternalData,
  parseRdsSecret,
  type SecretOptions,
} from '../src/index.ts'

class DriverError extends Error {
  constructor(
    readonly packageName: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${packageName}: ${message}`, options)
  }
}
const driverNamed = (packageName: string): DbDriver => ({
  packageName,
  defaultPort: 3306,
  credentialsError: (message, options) => new DriverError(packageName, message, options),
})
const mysqlDriver = driverNamed('@thaw/core-test-mysql')
const pgDriver = driverNamed('@thaw/core-test-pg')
const password = 'Sup3r-s3cret-pw'

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startSecretsManagerPeer()
}, 30_000)
afterAll(async () => {
  await peer?.close()
})

let keys = 0
// As a driver's options give them (a settings object holds every key; these leave the others out).
interface GivenCredentials {
  secret?: SecretOptions
  internalData?: InternalData
  iam?: IamOptions
}
const sourceFor = (driver: DbDriver, credentials: GivenCredentials, endpoint = {}) => {
  const settings = credentials as CredentialSettings
  const source = credentialSource(driver, { credentials: settings, endpoint, key: `key-${++keys}` })
  if (!source) throw new Error('no source for these credentials')
  return source
}
const secretSettings = (secretId: string, extra: Record<string, unknown> = {}): CredentialSettings => ({
  secret: {
    secretId,
    clientConfig: peerConfig(peer),
    prefetch: true,
    ...extra,
  } as CredentialSettings['secret'],
})
const fetches = (secretId: string) =>
  peer.calls.filter((call) => call.target === 'GetSecretValue' && call.secretId === secretId).length

describe('a secret', () => {
  it('is fetched once for concurrent connects, and counted for the driver that fetched it', async () => {
    peer.setSecret('core/shared', {
      username: 'app',
      password,
      host: 'db.local',
      port: '3307',
      dbname: 'orders',
    })
    const before = [
      credentialCounters(mysqlDriver.packageName),
      credentialCounters(pgDriver.packageName),
    ].map((counters) => counters.secretFetches)
    const source = sourceFor(mysqlDriver, secretSettings('core/shared'))
    const [first, second] = await Promise.all([source.get(undefined), source.get(undefined)])
    expect(first).toEqual({ user: 'app', password, host: 'db.local', port: 3307, database: 'orders' })
    expect(second).toEqual(first)
    expect(fetches('core/shared')).toBe(1)
    expect(credentialCounters(mysqlDriver.packageName).secretFetches).toBe((before[0] ?? 0) + 1)
    expect(credentialCounters(pgDriver.packageName).secretFetches).toBe(before[1])
  })

  it('is fetched anew once after the server refused its password, however many connects saw it', async () => {
    peer.setSecret('core/rotated', { username: 'app', password: 'first' })
    const source = sourceFor(pgDriver, secretSettings('core/rotated'))
    const refused = source.get(undefined)
    await refused
    peer.setSecret('core/rotated', { username: 'app', password: 'second' })
    const [one, two] = await Promise.all([
      source.refresh(refused, undefined),
      source.refresh(refused, undefined),
    ])
    expect((await one)?.password).toBe('second')
    expect((await two)?.password).toBe('second')
    expect(fetches('core/rotated')).toBe(2)
  })

  it('is read again once older than maxAgeMs, and kept until then', async () => {
    peer.setSecret('core/aged', { username: 'app', password: 'first' })
    const source = sourceFor(mysqlDriver, secretSettings('core/aged', { maxAgeMs: 50 }))
    // The fetch starts after this instant, so its age is at most the time since.
    const started = Date.now()
    expect((await source.get(undefined)).password).toBe('first')
    peer.setSecret('core/aged', { username: 'app', password: 'second' })
    const kept = await source.get(undefined)
    // Only when this get() certainly came before maxAgeMs had passed must the first value still hold
    // (a busy machine may take longer: the assertion then has nothing to say).
    if (Date.now() - started < 50) expect(kept.password).toBe('first')
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect((await source.get(undefined)).password).toBe('second')
  })

  it('fails with the driver’s error naming the secret, never its value', async () => {
    peer.setSecret('core/not-json', `{"username": "app", "password": "${password}"`)
    const source = sourceFor(pgDriver, secretSettings('core/not-json'))
    const error = await source.get(undefined).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(DriverError)
    expect((error as DriverError).packageName).toBe(pgDriver.packageName)
    expect((error as Error).message).toContain("the secret 'core/not-json' is not JSON")
    expect((error as Error).message).not.toContain(password)
    // The failure is not kept: the next connect reads the secret again.
    peer.setSecret('core/not-json', { username: 'app', password })
    expect((await source.get(undefined)).password).toBe(password)
  })

  it.each([
    [JSON.stringify({ username: 'app' }), 'has no string password'],
    [JSON.stringify([password]), 'is not a JSON object'],
    [JSON.stringify({ user: 'app', pass: password }), 'has no string username and password'],
  ])('refuses %s by the fields at fault', (text, expected) => {
    let message = ''
    try {
      parseRdsSecret(mysqlDriver, 'core/shape', text)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain(`the secret 'core/shape' ${expected}`)
    expect(message).not.toContain(password)
  })
})

describe('request.internal', () => {
  const requestWith = (internal: Record<string, unknown>) => ({ internal }) as unknown as Request

  it('gives what another middleware left there, the port as a number', async () => {
    const source = sourceFor(mysqlDriver, {
      internalData: { user: 'db.user', password: 'db.password', port: 'db.port' },
    })
    const request = requestWith({ db: { user: 'app', password, port: '3307' } })
    expect(await source.get(request)).toEqual({ user: 'app', password, port: 3307 })
    expect(source.refresh(Promise.resolve({}), request)).toBeUndefined()
  })

  it('fails naming the option whose key holds nothing, and outside an invocation', async () => {
    const source = sourceFor(pgDriver, { internalData: { password: 'db.password' } })
    await expect(source.get(requestWith({ db: {} }))).rejects.toThrow(
      "@thaw/core-test-pg: option 'internalData.password': request.internal has nothing at 'db.password'",
    )
    await expect(source.get(undefined)).rejects.toThrow("option 'internalData' needs an invocation")
  })
})

describe('an IAM token', () => {
  it('is signed for each new connection, for the configured endpoint and the driver’s port', async () => {
    const asked: unknown[] = []
    let issued = 0
    const source = sourceFor(
      pgDriver,
      {
        iam: {
          region: 'eu-west-1',
          getAuthToken: (params) => {
            asked.push(params)
            return `token-${++issued}`
          },
        },
      },
      { host: 'db.local', user: 'iam_user' },
    )
    const before = credentialCounters(pgDriver.packageName).tokensSigned
    expect(await source.get(undefined)).toEqual({ user: 'iam_user', password: 'token-1' })
    expect(await source.get(undefined)).toEqual({ user: 'iam_user', password: 'token-2' })
    expect(asked[0]).toEqual({ hostname: 'db.local', port: 3306, username: 'iam_user', region: 'eu-west-1' })
    expect(credentialCounters(pgDriver.packageName).tokensSigned).toBe(before + 2)
  })

  it('fails with the driver’s error when the token source gives none', async () => {
    const source = sourceFor(
      mysqlDriver,
      { iam: { region: 'eu-west-1', getAuthToken: () => '' } },
      { host: 'db.local', user: 'iam_user' },
    )
    const error = await source.get(undefined).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(DriverError)
    expect((error as Error).message).toBe(
      "@thaw/core-test-mysql: option 'iam': the token source returned no token",
    )
  })
})

it('gives no source when the config holds the credentials', () => {
  expect(credentialSource(mysqlDriver, { credentials: {}, endpoint: {}, key: 'none' })).toBeUndefined()
})
