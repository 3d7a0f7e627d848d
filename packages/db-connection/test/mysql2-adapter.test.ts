import { createRequire } from 'node:module'
import { afterAll, describe, expect, it } from '@jest/globals'
import mysql from 'mysql2'
import { mysql2InternalsMissing, mysql2KnowsCharset, mysql2SslProfiles } from '../src/mysql2-adapter.ts'
import { databaseUrl } from './helpers.ts'

// src/mysql2-adapter.ts is the only file that reads mysql2's private fields. This fails, naming each
// field, when the installed mysql2 no longer has one of them: read the adapter against the new
// mysql2 before widening the range in package.json.

const pool = mysql.createPool({ uri: databaseUrl(), connectionLimit: 1 })
afterAll(() => new Promise<void>((resolve) => pool.end(() => resolve())))

describe('mysql2 adapter', () => {
  it('finds every private field it relies on in the installed mysql2, on a real pool and connection', async () => {
    const connection = await new Promise<mysql.PoolConnection>((resolve, reject) =>
      pool.getConnection((error, leased) => (error ? reject(error) : resolve(leased))),
    )
    try {
      const missing = mysql2InternalsMissing(pool, connection)
      const installed = (await import('mysql2/package.json', { with: { type: 'json' } })).default.version
      expect(
        missing.length === 0
          ? 'all present'
          : `mysql2 ${installed} lacks ${missing.join(', ')}: src/mysql2-adapter.ts was written against mysql2 3.24.6`,
      ).toBe('all present')
    } finally {
      connection.release()
    }
  })

  it('names a field that moved', () => {
    const fakePool = Object.assign(Object.create(null), { _closed: false, config: { connectionConfig: {} } })
    const fakeConnection = { _released: false, _fatalError: null }
    const missing = mysql2InternalsMissing(fakePool, fakeConnection as never)
    expect(missing).toContain('Pool._connectionQueue')
    expect(missing).toContain('PoolConnection.stream')
    expect(missing).not.toContain('Pool._closed')
    expect(missing).not.toContain('PoolConnection._released')
  })

  // options.ts refuses at construction what mysql2 would refuse when the pool is built; the lists it
  // checks against must be mysql2's own.
  it("knows mysql2's TLS profiles and character sets", () => {
    const require = createRequire(import.meta.url)
    const mysql2Dir = require.resolve('mysql2/package.json').replace(/package\.json$/, '')
    const profiles = Object.keys(require(`${mysql2Dir}lib/constants/ssl_profiles.js`))
    expect([...mysql2SslProfiles].sort()).toEqual(profiles.sort())
    const charsets = Object.keys(require(`${mysql2Dir}lib/constants/charsets.js`))
    expect(charsets.filter((name) => !mysql2KnowsCharset(name.toLowerCase()))).toEqual([])
    expect(['utf9', 'toString', '__proto__', 'constructor'].filter(mysql2KnowsCharset)).toEqual([])
  })
})
