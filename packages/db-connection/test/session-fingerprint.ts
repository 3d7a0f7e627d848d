// The session fingerprint: everything a handler could observe of the MariaDB session it is given, read
// through that session's own context.db, plus what mysql2 keeps on its side of the connection. Two
// sessions with the same fingerprint cannot be told apart by any statement in session-changes.ts's
// catalogue; a warm connection must have the fingerprint of a brand-new one.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { DbConnectionContext } from '../src/index.ts'
import { names } from './session-changes.ts'

type Db = Pick<DbConnectionContext['db'], 'query'>
export type Fingerprint = Record<string, string>

// Session variables that differ between two brand-new connections, so they say nothing about what a
// previous invocation left: pseudo_thread_id (the connection's id), timestamp (the clock),
// rand_seed1/rand_seed2 (RAND()'s seed, drawn per connection), warning_count/error_count (they count the
// statement before SHOW VARIABLES, which is the fingerprint's own position, not the session's state).
const perConnection = new Set([
  'pseudo_thread_id',
  'timestamp',
  'rand_seed1',
  'rand_seed2',
  'warning_count',
  'error_count',
])

// mysql2's connections by thread id, as the pool hands them out: mysql2 3.24 publishes every
// pool.getConnection on the `mysql2:pool:connect` tracing channel, with the connection as the result.
// (A warm lease takes an idle connection without getConnection, but that connection was published
// when it was first leased.)
export interface ClientSide {
  threadId: number | null
  config: { charsetNumber?: number }
  _statements?: { keys(): Iterable<string> }
}
const connections = new Map<number, WeakRef<ClientSide>>()
// Returns the unsubscribe: the channel is the process's, and a subscriber left behind would make mysql2
// wrap every later test file's lease callbacks.
export const followConnections = (): (() => void) => {
  const onConnect = (message: unknown) => {
    const connection = (message as { result?: ClientSide }).result
    if (connection?.threadId != null) connections.set(connection.threadId, new WeakRef(connection))
  }
  subscribe('tracing:mysql2:pool:connect:asyncStart', onConnect)
  return () => unsubscribe('tracing:mysql2:pool:connect:asyncStart', onConnect)
}
export const clientSideOf = (threadId: number): ClientSide | undefined => connections.get(threadId)?.deref()

const answer = async (db: Db, sql: string): Promise<string> => {
  try {
    const [rows] = await db.query(sql)
    return JSON.stringify(rows, (_key, value) =>
      typeof value === 'bigint'
        ? String(value)
        : value?.type === 'Buffer'
          ? Buffer.from(value.data).toString()
          : value,
    )
  } catch (error) {
    const { errno, code } = error as { errno?: number; code?: string }
    return `error ${errno ?? ''} ${code ?? (error as Error).message}`
  }
}

// The statement texts in mysql2's cache of prepared statements (BaseConnection.statementKey in 3.24:
// `${typeof nestTables}/${nestTables}/${rowsAsArray}${sql}`).
export const cachedStatements = (client: ClientSide | undefined): string[] =>
  [...(client?._statements?.keys() ?? [])]
    .map((key) => key.replace(/^[^/]*\/[^/]*\/(?:undefined|true|false)/, ''))
    .sort()

// Reads the whole observable state, reading before it writes: variables, user variables, role,
// LAST_INSERT_ID, LASTVAL, locks, XA, database, transaction, temporary tables, HANDLER, then prepared
// statements (EXECUTE runs them), then the round trips that prove encoding and writes work.
export const fingerprint = async (db: Db, client: ClientSide | undefined): Promise<Fingerprint> => {
  const print: Fingerprint = {}
  // First, before any statement clears them: the warnings of the session's last statement.
  print['SHOW WARNINGS first'] = await answer(db, 'SHOW WARNINGS')
  // Then, before any statement ends a transaction: SET TRANSACTION READ ONLY (or an isolation level)
  // applies to the session's next transaction only, which no variable shows, and which the first
  // statement of the next invocation would be (SHOW WARNINGS starts none).
  print['first statement writes'] = await answer(db, `UPDATE ${names.zoe} SET v = v WHERE id = 0`)
  try {
    const [rows] = await db.query('SHOW SESSION VARIABLES')
    for (const { Variable_name: name, Value: value } of rows as { Variable_name: string; Value: string }[]) {
      if (!perConnection.has(name)) print[`variable ${name}`] = value
    }
  } catch (error) {
    print.variables = `error ${(error as { errno?: number }).errno}`
  }
  // Every user variable, where the server has the USER_VARIABLES plugin (MariaDB 10.2+ builds it in);
  // the catalogue's own names otherwise.
  const userVariables = await answer(
    db,
    'SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.USER_VARIABLES ORDER BY VARIABLE_NAME',
  )
  print['user variables'] = userVariables.startsWith('error')
    ? await answer(db, `SELECT ${names.userVariables.map((name) => `@${name} AS ${name}`).join(', ')}`)
    : userVariables
  print.session = await answer(
    db,
    `SELECT CURRENT_ROLE() AS role, LAST_INSERT_ID() AS lastInsertId, DATABASE() AS db, @@in_transaction AS inTransaction, @@autocommit AS autocommit`,
  )
  print.lastval = await answer(db, `SELECT LASTVAL(${names.sequence}) AS lastval`)
  print.locks = await answer(
    db,
    `SELECT ${names.locks.map((lock) => `IS_USED_LOCK('${lock}') <=> CONNECTION_ID() AS \`${lock}\``).join(', ')}`,
  )
  print['XA RECOVER'] = await answer(db, 'XA RECOVER')
  for (const table of names.temporaryTables) {
    print[`temporary table ${table}`] = await answer(db, `SELECT COUNT(*) AS n FROM ${table}`)
  }
  print.handler = await answer(db, `HANDLER ${names.rows} READ FIRST LIMIT 0`)
  for (const name of names.prepared) print[`prepared ${name}`] = await answer(db, `EXECUTE ${name}`)
  // Round trips: a value sent in the statement's text (mysql2 encodes it in the character set it
  // believes the session has) found and echoed, a write accepted and read back byte for byte, a
  // sequence function answered (its value is the server's, not the session's).
  print['select José by value'] = await answer(db, `SELECT COUNT(*) AS n FROM ${names.rows} WHERE v = 'José'`)
  print['echo Zoë'] = await answer(db, "SELECT 'Zoë' AS v, HEX('Zoë') AS hex")
  print['insert Zoë'] = (await answer(db, `INSERT INTO ${names.zoe} (v) VALUES ('Zoë')`)).replace(
    /"insertId":\d+/,
    '',
  )
  print['read Zoë back'] = await answer(
    db,
    `SELECT HEX(v) AS hex FROM ${names.zoe} WHERE id = LAST_INSERT_ID()`,
  )
  print['NEXTVAL answers'] = (await answer(db, `SELECT NEXTVAL(${names.sequence}) AS v`)).replace(/\d+/g, 'n')
  print['mysql2 charsetNumber'] = String(client?.config.charsetNumber)
  print['mysql2 statement cache'] = JSON.stringify(cachedStatements(client))
  return print
}

// What differs, one readable line each.
export const differences = (warm: Fingerprint, fresh: Fingerprint): string[] =>
  [...new Set([...Object.keys(warm), ...Object.keys(fresh)])]
    .filter((key) => warm[key] !== fresh[key])
    .map((key) => `${key}: warm ${warm[key] ?? '(absent)'}, new ${fresh[key] ?? '(absent)'}`)
