import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { describe, expect, it } from '@jest/globals'
import mysql from 'mysql2/promise'
import { startPrivateMariadb } from '../src/index.ts'

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

describe('startPrivateMariadb', () => {
  it('starts a server with the variables asked for, and stop() ends it and deletes its data directory', async () => {
    const server = await startPrivateMariadb({ variables: { max_connections: 15, wait_timeout: 7 } })
    let dataDirectory = ''
    try {
      const root = await mysql.createConnection(server.rootUrl)
      const [rows] = await root.query(
        'SELECT @@max_connections AS maxConnections, @@wait_timeout AS waitTimeout, @@datadir AS datadir',
      )
      const row = (rows as { maxConnections: number; waitTimeout: number; datadir: string }[])[0]
      dataDirectory = row?.datadir ?? ''
      expect(row?.maxConnections).toBe(15)
      expect(row?.waitTimeout).toBe(7)
      expect(existsSync(dataDirectory)).toBe(true)
      await root.end()
    } finally {
      await server.stop()
    }
    expect(existsSync(dataDirectory)).toBe(false)
    expect(await accepts(server.port)).toBe(false)
  }, 60_000)

  it('names the server’s own complaint when a variable is not one', async () => {
    await expect(startPrivateMariadb({ variables: { no_such_variable: 1 } })).rejects.toThrow(
      /private-mariadb: mariadbd exited[\s\S]*no-such-variable/,
    )
  }, 60_000)
})
