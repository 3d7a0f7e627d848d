// What a statement's text says about the session it runs in. PostgreSQL reports a few settings when
// they change (ParameterStatus, followed in pg-adapter.ts) and the transaction status in every
// ReadyForQuery, but nothing else: a statement that may leave session state behind is recognised by
// its words, and resetSession 'auto' resets after any invocation that ran one.
//
// Leaves state (a session, not a transaction, keeps it): SET / RESET / SET ROLE / SET SESSION
// AUTHORIZATION / set_config(), LISTEN, PREPARE, DECLARE … WITH HOLD, CREATE TEMP[ORARY] tables (and
// ON COMMIT), session advisory locks (pg_advisory_lock, pg_try_advisory_lock; the _xact_ ones end with
// the transaction but match too, which costs only a reset), LOAD, DISCARD, and CALL / DO (a procedure
// can do any of these). A named query ({ name }) leaves a prepared statement: the session reads that
// from the query's config, not from here.
import type { QueryConfig } from 'pg'

const sessionStatePattern =
  /\b(?:SET|RESET|LISTEN|UNLISTEN|PREPARE|DEALLOCATE|DECLARE|TEMP|TEMPORARY|LOAD|DISCARD|CALL|DO|SET_CONFIG|ROLE|AUTHORIZATION)\b|ADVISORY/i

// Handlers repeat the same few statements: remember the answer per text, bounded (generated SQL with
// inlined values cannot grow it without limit; when full it starts over).
const cacheSize = 256
const decisions = new Map<string, boolean>()

export const textLeavesState = (text: string): boolean => {
  let leaves = decisions.get(text)
  if (leaves === undefined) {
    leaves = sessionStatePattern.test(text)
    if (decisions.size >= cacheSize) decisions.clear()
    decisions.set(text, leaves)
  }
  return leaves
}

export type Statement = string | QueryConfig<unknown[]>

export const textOf = (statement: Statement): string | undefined =>
  typeof statement === 'string' ? statement : typeof statement?.text === 'string' ? statement.text : undefined

export const nameOf = (statement: Statement): string | undefined =>
  typeof statement === 'object' && statement !== null && typeof statement.name === 'string' && statement.name
    ? statement.name
    : undefined

// True when the statement may leave state in the session (its text, or a named prepared statement).
export const leavesSessionState = (statement: Statement): boolean => {
  if (nameOf(statement) !== undefined) return true
  const text = textOf(statement)
  return text === undefined ? true : textLeavesState(text)
}
