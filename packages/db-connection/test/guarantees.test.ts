import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { afterAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import {
  call,
  closeAdmin,
  createTestUser,
  dropTestUsers,
  startHandler,
  startProxy,
  stopStarted,
} from './helpers.ts'

// Issue 16: one test per guarantee whose mechanism could be removed without any test noticing. Each
// test says which change to src/ it catches ("kills"); each was run by hand against that change
// (mysql2 3.24.6, MariaDB 10.11.19, Node 24) and failed, and passes with the code as it is.

interface Stats {
  connectionsOpened: number
  reusedInvocations: number
  replacements: number
  validations: number
  errors: number
}
type QueryResult = { rows: [{ id: number }]; stats: Stats }
const whoAmI = { action: 'query', sql: 'SELECT CONNECTION_ID() AS id' }

afterAll(async () => {
  await stopStarted()
  await dropTestUsers()
  await closeAdmin()
})

// The kernel's view of a process's TCP sockets (Linux /proc): state and bytes waiting to be read, by
// the peer's port. Read while the process is stopped, this is what it will find when it runs again.
interface SocketView {
  remotePort: number
  state: number
  receiveQueue: number
}
const TCP_ESTABLISHED = 1
const socketsOf = (pid: number): SocketView[] => {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (inode) inodes.add(inode)
    } catch {
      // Closed between the listing and the readlink.
    }
  }
  const sockets: SocketView[] = []
  for (const table of ['tcp', 'tcp6']) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1)
    for (const line of lines) {
      const fields = line.trim().split(/\s+/)
      if (!inodes.has(fields[9] as string)) continue
      const [, remotePort] = (fields[2] as string).split(':')
      const [, receiveQueue] = (fields[4] as string).split(':')
      sockets.push({
        remotePort: Number.parseInt(remotePort as string, 16),
        state: Number.parseInt(fields[3] as string, 16),
        receiveQueue: Number.parseInt(receiveQueue as string, 16),
      })
    }
  }
  return sockets
}
const processState = (pid: number) => /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]
const waitingForEvents = (pid: number) =>
  processState(pid) === 'S' && readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'do_epoll_wait'

// lambda-sim freezes the environment as soon as the runtime asks for the next event, which may be
// before the runtime's event loop has gone back to epoll_wait: epoll (level-triggered, as libuv uses
// it) then still holds the sockets it last reported (the database's answer) at the head of its ready
// list, and would report the database socket first whatever arrives later. Thawed once until its main
// thread sleeps in epoll_wait (the stale entries checked and dropped), then stopped again: the ready
// list is empty, and the order of what arrives next is the order it will be reported in.
const settleFrozen = async (pid: number) => {
  process.kill(-pid, 'SIGCONT')
  try {
    await waitFor(() => (waitingForEvents(pid) ? true : undefined), {
      what: 'the runtime back in epoll_wait',
      everyMs: 5,
    })
  } finally {
    process.kill(-pid, 'SIGSTOP')
  }
  await waitFor(() => (processState(pid) === 'T' ? true : undefined), { what: 'the runtime stopped' })
}

// lambda-sim thaws the environment (SIGCONT to its process group) and writes the event right after.
// Holding that one SIGCONT back keeps the process stopped with the event waiting in its socket, so the
// test can decide what else the kernel has queued for it when it runs again. The freeze stays
// lambda-sim's own SIGSTOP; the SIGCONT is sent, only later, by release().
const holdNextThaw = (pid: number) => {
  const kill = process.kill
  let held = false
  process.kill = ((target: number, signal?: string | number) => {
    if (target === -pid && signal === 'SIGCONT' && !held) {
      held = true
      return true
    }
    return kill.call(process, target, signal)
  }) as typeof process.kill
  return {
    get held() {
      return held
    },
    release() {
      process.kill = kill
      if (held) kill.call(process, -pid, 'SIGCONT')
    },
  }
}

describe('a connection that died while the environment was frozen', () => {
  // Kills: acquireConnection without its `await pollOnce()` (lease.ts), alone or together with the
  // isConnectionDead check before reuse. The event and the FIN are both waiting when the process runs
  // again, the event first: the event's callback runs the handler before mysql2 reads the FIN, so
  // mysql2's own cleanup (PoolConnection drops itself from the pool on 'end') comes too late, and
  // only thaw letting the loop poll once before taking an idle connection finds it dead. Without
  // that, the first statement goes to the dead socket and fails with PROTOCOL_CONNECTION_LOST.
  // validateAfterIdleMs is left at 60 s: no ping (which would also find it) before the statement.
  it('finds it before the first statement, when its FIN is queued behind the event', async () => {
    const { dsn, host, port } = await createTestUser('thawpoll')
    const proxy = await startProxy({ host, port })
    const environment = await startHandler({ databaseUrl: dsn(proxy.port) }, { timeoutMs: 15_000 })
    let previous = (await call<QueryResult>(environment, whoAmI)).rows[0].id
    const rounds = 3
    for (let round = 1; round <= rounds; round++) {
      expect(environment.isFrozen).toBe(true)
      const pid = environment.pid as number
      await settleFrozen(pid)
      const thaw = holdNextThaw(pid)
      let invocation: ReturnType<typeof environment.invoke> | undefined
      try {
        invocation = environment.invoke(whoAmI)
        await waitFor(() => (thaw.held ? true : undefined), { what: "lambda-sim's thaw" })
        // The event is in the stopped runtime's socket to the Runtime API.
        await waitFor(
          () =>
            socketsOf(pid).some((socket) => socket.remotePort !== proxy.port && socket.receiveQueue > 0)
              ? true
              : undefined,
          { what: 'the event waiting in the stopped runtime' },
        )
        // Then the connection dies: the proxy closes the client's side, its FIN lands behind the event.
        proxy.cut()
        await waitFor(
          () => {
            const database = socketsOf(pid).filter((socket) => socket.remotePort === proxy.port)
            return database.length === 1 && database[0]?.state !== TCP_ESTABLISHED ? true : undefined
          },
          { what: 'the FIN in the stopped runtime' },
        )
        expect(processState(pid)).toBe('T')
      } finally {
        thaw.release()
      }
      const outcome = await invocation
      if (!outcome.ok) {
        throw new Error(`round ${round}: the first statement after the thaw failed: ${outcome.error.message}`)
      }
      const next = outcome.result as QueryResult
      expect(next.rows[0].id).not.toBe(previous)
      previous = next.rows[0].id
      // Found dead while idle, before it was leased: a replacement each round, and a new connection.
      expect(next.stats).toMatchObject({
        replacements: round,
        connectionsOpened: round + 1,
        reusedInvocations: 0,
      })
    }
  })
})
