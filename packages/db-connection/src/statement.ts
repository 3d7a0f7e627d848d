// Running one statement on a core (callback) mysql2 connection, and what thaw learns from its text
// and its answer. Kept apart from the session so the hot path is one file to read.
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'
import type { CoreConnection } from './mysql2-adapter.ts'

export type Method = 'query' | 'execute'
export type Statement = string | { sql: string }
type Done = (error: Error | null, rows?: unknown, fields?: unknown) => void

// What a statement's text says, beside what the server reports (session-tracking.ts). Statements that
// may leave session state behind that no server reports, or that a server which cannot report would
// hide: named locks (GET_LOCK), table locks, user variables (also assigned inside a SELECT), session
// variables, temporary tables, prepared statements, a changed default database, procedures (which can
// do any of these). Transactions are followed through the server's status flags instead, so a committed
// transaction costs no reset.
// The leading word is found behind whatever the server skips before it: whitespace, comments (/* */,
// `-- `, #) and the opening of a versioned comment (/*!40101, MariaDB's /*M!100100), whose content the
// server runs. Without this, `/*!40101 SET TRANSACTION READ ONLY */` went unseen: MariaDB 10.11's
// session tracking does not report SET TRANSACTION (the next transaction's characteristics are no
// system variable), so the next invocation's first write failed (test/guarantees.test.ts). The
// comment is matched up to its first */ only (no backtracking across comments: linear time).
const lead = String.raw`(?:\s|/\*(?!M?!)[^*]*\*+(?:[^/*][^*]*\*+)*/|(?:--(?=\s)|#)[^\n]*(?:\n|$)|/\*M?!\d*)*`
// Sequences and LAST_INSERT_ID(expr) leave values the next invocation's LASTVAL() or LAST_INSERT_ID()
// would read, and no tracker reports them (MariaDB 10.11); an INSERT's generated id is seen in its OK
// packet instead (session.ts). EXECUTE (a statement PREPAREd from a text built at run time, EXECUTE
// IMMEDIATE CONCAT(…)) can run anything whose words never appear in the text.
const sessionStatePattern = new RegExp(
  String.raw`(?:^|;)${lead}(?:SET|XA|LOCK|PREPARE|EXECUTE|USE|CALL|HANDLER|DECLARE)\b|GET_LOCK|LOCK\s+TABLES?\b|TEMPORARY|NEXTVAL|SETVAL|NEXT\s+VALUE\s+FOR\b|LAST_INSERT_ID\s*\(\s*[^\s)]|(?<![@\w])@(?!@)`,
  'i',
)

// A plain read: one SELECT (or SHOW, EXPLAIN, DESCRIBE, a WITH … SELECT), nothing in front of it, no
// second statement. When the server cannot report session changes, anything else may have changed the
// session (a comment can hide a SET, a procedure can do anything): the connection is reset.
const plainReadPattern = /^\s*(?:SELECT|SHOW|EXPLAIN|DESCRIBE|DESC|WITH)\b[^;]*$/i

// The kinds statementKind() returns.
export const plainRead = 0
export const otherStatement = 1
export const leavesState = 2

// Handlers repeat the same few statements, and a regular expression over a long statement costs
// microseconds: remember the answer per text. Bounded, so generated SQL (values inlined) cannot
// grow it without limit; when full it starts over, which costs one scan per statement again.
const decisionCacheSize = 256
const decisions = new Map<string, number>()

// What the two patterns say of a text: the definition statementKind keeps.
export const statementKindByPatterns = (text: string): number =>
  sessionStatePattern.test(text) ? leavesState : plainReadPattern.test(text) ? plainRead : otherStatement

// Every match of sessionStatePattern contains one of these, upper-cased: each of its alternatives needs
// a keyword (GET_LOCK and LOCK TABLES a LOCK, SETVAL a SET, NEXTVAL and NEXT VALUE FOR a NEXT) or an
// @, and the characters its case-insensitive match accepts (non-unicode mode: only ASCII letters fold
// to ASCII letters) upper-case to the keyword's own. A text with none of them cannot match, and is
// told by plainReadPattern alone: the reads and inserts a handler starts with no longer pay for
// compiling sessionStatePattern in the first invocation (its first two runs, interpreted then compiled
// to machine code, cost about 0.6 ms on Node 24.21; the most a cold start here spent in any one
// function of thaw's). A text with one of them (`users` holds USE) still goes to the pattern, which
// decides.
const stateMarkers = [
  'SET',
  'XA',
  'LOCK',
  'PREPARE',
  'EXECUTE',
  'USE',
  'CALL',
  'HANDLER',
  'DECLARE',
  'TEMPORARY',
  'NEXT',
  'LAST_INSERT_ID',
  '@',
]
const mayLeaveState = (text: string): boolean => {
  const upper = text.toUpperCase()
  return stateMarkers.some((marker) => upper.includes(marker))
}

export const statementKind = (sql: Statement): number => {
  const text = typeof sql === 'string' ? sql : sql?.sql
  if (typeof text !== 'string') return otherStatement
  let kind = decisions.get(text)
  if (kind === undefined) {
    kind = mayLeaveState(text)
      ? statementKindByPatterns(text)
      : plainReadPattern.test(text)
        ? plainRead
        : otherStatement
    if (decisions.size >= decisionCacheSize) decisions.clear()
    decisions.set(text, kind)
  }
  return kind
}

export const leavesSessionState = (sql: Statement): boolean => statementKind(sql) === leavesState

// Sends the statement through mysql2's callback API, as mysql2/promise's query/execute do, with the
// same arguments and the same [rows, fields] answer, but without their per-statement stack capture
// (Error.captureStackTrace on every call, several microseconds): see withCallerStack for errors.
export const sendStatement = (
  connection: CoreConnection,
  method: Method,
  sql: Statement,
  values: unknown,
  done: Done,
): void => {
  const core = connection as unknown as Record<Method, (...args: unknown[]) => unknown>
  try {
    if (values !== undefined) core[method](sql, values, done)
    else core[method](sql, done)
  } catch (error) {
    done(error as Error)
  }
}

// mysql2/promise refuses a callback in place of the values; so does thaw (mysql2's core would take
// it as the callback).
export const refuseCallback = (values: unknown): void => {
  if (typeof values === 'function') {
    throw new DbConnectionError(
      dbConnectionErrorCodes.callbackRefused,
      'Callback function is not available with promise clients.',
    )
  }
}

// An error made by mysql2's packet parser has a stack of socket internals. mysql2/promise replaces it
// with one captured at every call; thaw captures only when a statement fails: rejecting through one
// more promise step lets V8 see, from inside that step, the chain of async functions awaiting the
// statement (`at async handler (file:line:col)`, Middy's runner, …), and those frames replace the
// parser's. The error stays the same object, with code, errno, sqlState and fatal untouched.
export const rejectWithCallerStack = (resolve: (value: Promise<never>) => void, error: Error): void => {
  let fail: (reason: unknown) => void = () => {}
  const failing = new Promise<never>((_, reject) => {
    fail = reject
  })
  // Linked to the caller's promise first, then rejected: the capture runs with the chain in place.
  resolve(failing.then(undefined, rethrowWithCallerStack))
  fail(error)
}

const rethrowWithCallerStack = (error: unknown): never => {
  if (error instanceof Error) {
    const holder: { stack?: string } = {}
    Error.captureStackTrace(holder, rethrowWithCallerStack)
    const frames = holder.stack?.indexOf('\n    at ') ?? -1
    if (frames !== -1) {
      error.stack = `${error.name}: ${error.message}${(holder.stack as string).slice(frames)}`
    }
  }
  throw error
}

// A statement off the hot path (ROLLBACK, KILL), answered as mysql2/promise would.
export const statementOn = (connection: CoreConnection, sql: string, values?: unknown[]) =>
  new Promise<[unknown, unknown]>((resolve, reject) => {
    sendStatement(connection, 'query', sql, values, (error, rows, fields) => {
      if (error) reject(error)
      else resolve([rows, fields])
    })
  })
