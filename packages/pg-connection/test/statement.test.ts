// What a statement says about the session it runs in (src/statement.ts), asked as the session asks:
// whether resetSession 'auto' must reset after an invocation that ran it. A statement thaw cannot
// read (no text it knows, no name) is taken as leaving state: a reset too many is safe, one too few
// leaves a session setting to the next invocation.
import { describe, expect, it } from '@jest/globals'
import { leavesSessionState } from '../src/statement.ts'

describe('leavesSessionState', () => {
  it('reads the text of a query config as it reads a string', () => {
    expect(leavesSessionState('SELECT 1')).toBe(false)
    expect(leavesSessionState({ text: 'SELECT 1' })).toBe(false)
    expect(leavesSessionState({ text: 'SET search_path TO app' })).toBe(true)
    expect(leavesSessionState({ text: 'select pg_advisory_lock(1)', values: [] })).toBe(true)
  })

  it('takes a named query as leaving a prepared statement, whatever its text', () => {
    expect(leavesSessionState({ text: 'SELECT 1', name: 'one' })).toBe(true)
    expect(leavesSessionState({ text: 'SELECT 1', name: '' })).toBe(false)
  })

  it('takes a statement whose text it cannot read as leaving state', () => {
    for (const statement of [null, undefined, {}, { text: 42 }, { text: null }, { values: [1] }])
      expect(leavesSessionState(statement as never)).toBe(true)
  })

  it('answers the same for a text asked again, past the size of its memory of answers', () => {
    const texts = Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? `SELECT ${i}` : `SET app.n = ${i}`))
    const first = texts.map((text) => leavesSessionState(text))
    expect(first).toEqual(texts.map((_, i) => i % 2 === 1))
    expect(texts.map((text) => leavesSessionState(text))).toEqual(first)
  })
})
