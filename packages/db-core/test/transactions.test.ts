// transaction() and its savepoints on a real MariaDB, through a mysql2 connection: what one
// transaction() commits is seen from another connection, what a throw rolls back is not, a nested
// transaction() that throws undoes only its own part, the connection is released either way, and
// inside fn the scope names the session and the connection the statements belong to.
import { AsyncLocalStorage } from 'node:async_hooks'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { databaseUrl } from '@thaw/test-support'
import mysql from 'mysql2/promise'
import { runTransaction, type TransactionScope, type TransactionVerbs } from '../src/index.ts'

interface Leased {
  query(sql: string): Promise<unknown>
  release(): void
}
const session = { name: 'the invocation' }
const storage = new AsyncLocalStorage<TransactionScope<typeof session, Leased>>()
const table = `core_tx_${process.pid}`

let inside: mysql.Connection
let outside: mysql.Connection
let releases = 0
const leased: Leased = {
  query: (sql) => inside.query(sql),
  release: () => {
    releases++
  },
}
const verbs: TransactionVerbs<Leased> = {
  begin: () => inside.beginTransaction(),
  commit: () => inside.commit(),
  rollback: () => inside.rollback(),
}
const transaction = <T>(fn: (connection: Leased) => Promise<T>) =>
  runTransaction(storage, session, async () => leased, verbs, fn)
const insert = (connection: Leased, id: number) =>
  connection.query(`INSERT INTO ${table} (id) VALUES (${id})`)
const seen = async (): Promise<number[]> => {
  const [rows] = await outside.query(`SELECT id FROM ${table} ORDER BY id`)
  return (rows as { id: number }[]).map((row) => row.id)
}

beforeAll(async () => {
  inside = await mysql.createConnection(databaseUrl())
  outside = await mysql.createConnection(databaseUrl())
  await outside.query(`CREATE TABLE ${table} (id INT PRIMARY KEY) ENGINE=InnoDB`)
})
afterAll(async () => {
  await outside?.query(`DROP TABLE IF EXISTS ${table}`)
  await Promise.all([inside?.end(), outside?.end()])
})

describe('runTransaction', () => {
  it('commits what fn did when it resolves, and releases the connection', async () => {
    await outside.query(`DELETE FROM ${table}`)
    const before = releases
    const result = await transaction(async (connection) => {
      await insert(connection, 1)
      expect(await seen()).toEqual([])
      return 'done'
    })
    expect(result).toBe('done')
    expect(await seen()).toEqual([1])
    expect(releases).toBe(before + 1)
  })

  it('rolls back and rethrows when fn throws, and releases the connection', async () => {
    await outside.query(`DELETE FROM ${table}`)
    const before = releases
    const failure = new Error('the handler failed')
    await expect(
      transaction(async (connection) => {
        await insert(connection, 2)
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(await seen()).toEqual([])
    expect(releases).toBe(before + 1)
  })

  it('makes a nested transaction() a savepoint: its throw undoes its part only', async () => {
    await outside.query(`DELETE FROM ${table}`)
    const before = releases
    const depths: number[] = []
    await transaction(async (connection) => {
      await insert(connection, 3)
      depths.push(storage.getStore()?.depth ?? -1)
      await expect(
        transaction(async (nested) => {
          expect(nested).toBe(connection)
          depths.push(storage.getStore()?.depth ?? -1)
          await insert(nested, 4)
          throw new Error('the nested part failed')
        }),
      ).rejects.toThrow('the nested part failed')
      await transaction(async (nested) => {
        await insert(nested, 5)
        await transaction(async (deeper) => {
          depths.push(storage.getStore()?.depth ?? -1)
          await insert(deeper, 6)
        })
      })
    })
    expect(await seen()).toEqual([3, 5, 6])
    expect(depths).toEqual([0, 1, 2])
    // One lease: the savepoints run on the transaction's connection.
    expect(releases).toBe(before + 1)
  })

  it('keeps the scope to fn: after the transaction, no step sees one', async () => {
    await transaction(async () => {
      expect(storage.getStore()).toMatchObject({ session, connection: leased, depth: 0 })
    })
    expect(storage.getStore()).toBeUndefined()
  })

  it('keeps the handler’s error when the rollback fails too', async () => {
    const failure = new Error('the handler failed')
    const broken: TransactionVerbs<Leased> = {
      ...verbs,
      rollback: () => Promise.reject(new Error('the connection died')),
    }
    await expect(
      runTransaction(
        storage,
        session,
        async () => leased,
        broken,
        async () => {
          throw failure
        },
      ),
    ).rejects.toBe(failure)
    await inside.rollback()
  })
})
