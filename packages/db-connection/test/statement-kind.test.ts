import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  leavesState,
  otherStatement,
  plainRead,
  statementKind,
  statementKindByPatterns,
} from '../src/statement.ts'

// statementKind looks for a keyword or an @ before it runs sessionStatePattern (the first invocation
// then skips compiling it for plain reads and inserts): it must say what the patterns say of every text.
// The texts are made of what the patterns look at (each state keyword and read keyword in any case,
// the comments and versioned comments the server skips, statement separators, @ and @@) and of
// characters whose upper case is an ASCII letter or longer than one (ſ → S, ı → I, ß → SS, ﬀ → FF,
// K the Kelvin sign), beside arbitrary text.

const keyword = fc
  .constantFrom(
    'SET',
    'XA',
    'LOCK',
    'PREPARE',
    'USE',
    'CALL',
    'HANDLER',
    'DECLARE',
    'GET_LOCK',
    'LOCK TABLES',
    'LOCK\tTABLE',
    'TEMPORARY',
    'EXECUTE',
    'NEXTVAL',
    'NEXT VALUE FOR',
    'NEXT\tVALUE',
    'SETVAL',
    'LAST_INSERT_ID(1)',
    'LAST_INSERT_ID( x)',
    'LAST_INSERT_ID()',
    'SELECT',
    'SHOW',
    'EXPLAIN',
    'DESCRIBE',
    'DESC',
    'WITH',
    'INSERT',
    'UPDATE',
    'users',
    'offset',
  )
  .chain((word) => fc.mixedCase(fc.constant(word)))
const piece = fc.oneof(
  keyword,
  fc.constantFrom(
    ' ',
    '\n',
    '\t',
    ';',
    '; ',
    '/* c */',
    '/**/',
    '-- c\n',
    '--x',
    '# c\n',
    '/*!40101 ',
    '/*M!100100 ',
    '*/',
  ),
  fc.constantFrom('@', '@@', '@x', 'a@b', '@@session.x', "'@'"),
  fc.constantFrom('ſET', 'ſelect', 'uſe', 'ıd', 'ß', 'ﬀ', 'K', 'é', 'ǅ', 'x', '1', '(', ')', '?'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
)
const text = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''))

describe('statementKind', () => {
  it('says of every text what the patterns say', () => {
    fc.assert(
      fc.property(text, (sql) => {
        expect(statementKind(sql)).toBe(statementKindByPatterns(sql))
      }),
      { numRuns: 5_000 },
    )
  })

  it('tells the three kinds apart, with and without the keyword check', () => {
    const cases: [string, number][] = [
      ['SELECT id FROM orders WHERE id = ?', plainRead],
      ['  with t AS (SELECT 1) SELECT * FROM t', plainRead],
      ['INSERT INTO orders (customer_id) VALUES (?)', otherStatement],
      ['SELECT 1; SELECT 2', otherStatement],
      ['SELECT name FROM users', plainRead],
      ['SELECT @x := 1', leavesState],
      ['select get_lock("a", 1)', leavesState],
      ['/*!40101 SET TRANSACTION READ ONLY */', leavesState],
      ['CREATE TEMPORARY TABLE t (id INT)', leavesState],
      ['UPDATE orders SET total = 1', otherStatement],
      ['SELECT 1; use other', leavesState],
      ['SELECT NEXTVAL(s)', leavesState],
      ['INSERT INTO t (id) VALUES (NEXT VALUE FOR s)', leavesState],
      ['SELECT LAST_INSERT_ID(5)', leavesState],
      ['SELECT LAST_INSERT_ID() AS id', plainRead],
      ["EXECUTE IMMEDIATE CONCAT('SELECT GET_', 'LOCK(1, 0)')", leavesState],
      ['SELECT next_value FROM t', plainRead],
    ]
    for (const [sql, kind] of cases) {
      expect([sql, statementKindByPatterns(sql)]).toEqual([sql, kind])
      expect([sql, statementKind(sql)]).toEqual([sql, kind])
      expect([sql, statementKind({ sql })]).toEqual([sql, kind])
    }
  })
})
