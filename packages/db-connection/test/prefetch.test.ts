import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { peerConfig, type SecretsManagerPeer, sleep, startSecretsManagerPeer } from '@thaw/test-support'
import dbConnection, { closePools } from '../src/index.ts'
import { closeAdmin, createTestUser, databaseName, dropTestUsers } from './helpers.ts'

// secret.prefetch (cold start): the Secrets Manager client's module is loaded and the client
// built while the function initialises, as a hand-written handler with a module-scope client does,
// and no request is sent before the first invocation (AWS: requests at init can be frozen in flight
// under provisioned concurrency). Real SDK client over HTTP to the local peer, real MariaDB.

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startSecretsManagerPeer()
})
afterAll(async () => {
  await closePools()
  await dropTestUsers()
  await closeAdmin()
  await peer.close()
})

const setUp = async (label: string, prefetch: boolean | undefined) => {
  const created = await createTestUser(label, { prefix: 'dbc13' })
  const secretId = `dbc13/${created.user}`
  peer.setSecret(secretId, { username: created.user, password: created.password, dbname: databaseName() })
  let loads = 0
  const middleware = dbConnection({
    config: `mysql://${created.host}:${created.port}/${databaseName()}`,
    secret: {
      secretId,
      clientConfig: peerConfig(peer) as Record<string, unknown>,
      sdk: () => {
        loads++
        return import('@aws-sdk/client-secrets-manager')
      },
      ...(prefetch === undefined ? {} : { prefetch }),
    },
  })
  const handler = middy()
    .use(middleware)
    .handler(async (_event, context) => {
      const [rows] = await context.db.query('SELECT CURRENT_USER() AS user')
      return (rows as { user: string }[])[0]?.user
    })
  const invoke = () =>
    handler({}, {
      getRemainingTimeInMillis: () => 5_000,
      functionName: 'prefetch',
      awsRequestId: randomUUID(),
    } as never) as Promise<string>
  const requests = () => peer.calls.filter((call) => call.secretId === secretId).length
  return { user: created.user, invoke, loads: () => loads, requests }
}

describe('secret.prefetch', () => {
  it('loads the client at construction (init) by default and sends nothing until the first invocation', async () => {
    const fn = await setUp('prefetch_on', undefined)
    expect(fn.loads()).toBe(1)
    // Whatever the loader's promise still does, no request follows it.
    await sleep(200)
    expect(fn.requests()).toBe(0)
    expect(await fn.invoke()).toMatch(new RegExp(`^${fn.user}@`))
    expect(fn.requests()).toBe(1)
    expect(fn.loads()).toBe(1)
  })

  it('waits for the first invocation with prefetch: false', async () => {
    const fn = await setUp('prefetch_off', false)
    await sleep(200)
    expect(fn.loads()).toBe(0)
    expect(await fn.invoke()).toMatch(new RegExp(`^${fn.user}@`))
    expect(fn.loads()).toBe(1)
    expect(fn.requests()).toBe(1)
  })

  it('does not keep a failed load: the first invocation loads again and answers', async () => {
    const created = await createTestUser('prefetch_retry', { prefix: 'dbc13' })
    const secretId = `dbc13/${created.user}`
    peer.setSecret(secretId, { username: created.user, password: created.password, dbname: databaseName() })
    let loads = 0
    const handler = middy()
      .use(
        dbConnection({
          config: `mysql://${created.host}:${created.port}/${databaseName()}`,
          secret: {
            secretId,
            clientConfig: peerConfig(peer) as Record<string, unknown>,
            sdk: () => {
              loads++
              return loads === 1
                ? Promise.reject(new Error('module not ready'))
                : import('@aws-sdk/client-secrets-manager')
            },
          },
        }),
      )
      .handler(async (_event, context) => (await context.db.query('SELECT 1 AS one'))[0])
    await sleep(50)
    expect(loads).toBe(1)
    await handler({}, {
      getRemainingTimeInMillis: () => 5_000,
      functionName: 'prefetch',
      awsRequestId: randomUUID(),
    } as never)
    expect(loads).toBe(2)
  })
})
