// A catalogue of ways a handler can change its MariaDB session, for the session fingerprint property
// (session-fingerprint.property.test.ts): each kind is the statements one step of an invocation sends,
// plain, behind comments and versioned comments, from a procedure, a stored function, a trigger or a
// view, as a multi-statement text, PREPAREd, EXECUTEd IMMEDIATE or through mysql2's execute(). The
// routines, tables, roles and names the kinds use are made by setUpCatalogue and listed in `names`, so
// that the fingerprint (session-fingerprint.ts) knows which locks, temporary tables, prepared statements
// and sequences to look at.
import { randomBytes } from 'node:crypto'
import type mysql from 'mysql2/promise'

const s = randomBytes(3).toString('hex')

export const names = {
  rows: `fp_rows_${s}`,
  zoe: `fp_zoe_${s}`,
  sequenceTable: `fp_seqt_${s}`,
  triggerTable: `fp_trig_${s}`,
  view: `fp_view_${s}`,
  sequence: `fp_seq_${s}`,
  procedure: `fp_proc_${s}`,
  func: `fp_fn_${s}`,
  trigger: `fp_tr_${s}`,
  defaultRole: `fp_r1_${s}`,
  otherRole: `fp_r2_${s}`,
  locks: ['l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8', 'l9', 'proc', 'fn', 'trig'].map(
    (n) => `fp_${n}_${s}`,
  ),
  temporaryTables: [`fp_tmp1_${s}`, `fp_tmp2_${s}`, `fp_tmp3_${s}`, `fp_tmpproc_${s}`],
  prepared: ['fp_ps1', 'fp_ps2', 'fp_ps3', 'fp_ps4', 'fp_psproc'],
  userVariables: ['fp_u1', 'fp_u2', 'fp_u3', 'fp_u4', 'fp_u5', 'fp_u6', 'fp_routine'],
  xids: [`fp_x1_${s}`, `fp_x2_${s}`, `fp_x3_${s}`],
}
const n = names
const lock = (name: string) => `fp_${name}_${s}`

export interface Step {
  sql: string
  values?: (string | number)[]
  // mysql2's execute() (binary protocol, server-side prepared, cached by mysql2) instead of query().
  execute?: true
}

export interface Change {
  name: string
  steps: Step[]
  // Sent as one multi-statement text: needs a connection with multipleStatements.
  multi?: true
  // Why resetSession 'auto' cannot see it (README: what covers it); such kinds are generated for
  // 'always' only.
  unseenByAuto?: string
  // It leaves the session as it found it.
  leavesNothing?: true
  // resetSession 'never' undoes it too (a transaction left open, the default database), or discards
  // the connection (a transaction it cannot roll back).
  undoneByNever?: true
}

const q = (...sql: string[]): Step[] => sql.map((text) => ({ sql: text }))

// What the procedure, the function and the trigger do for each k.
const routineActions: Record<number, { what: string; sql: string }> = {
  1: { what: 'time_zone', sql: "SET SESSION time_zone = '+03:00'" },
  2: { what: 'user variable', sql: 'SET @fp_routine = 1' },
  4: { what: 'named lock', sql: '' }, // filled per routine (each its own lock name)
  5: { what: 'SET ROLE', sql: `SET ROLE ${n.otherRole}` },
  6: { what: 'NEXTVAL', sql: `DO NEXTVAL(${n.sequence})` },
  7: { what: 'character set', sql: 'SET NAMES latin1' },
}
const lockIn = (routine: string) => `DO GET_LOCK('${lock(routine)}', 0)`
const routineBody = (routine: string, key: string, extra: Record<number, string> = {}) => {
  const actions = Object.entries(routineActions).map(([k, action]) => [
    Number(k),
    Number(k) === 4 ? lockIn(routine) : action.sql,
  ])
  const all = [...actions, ...Object.entries(extra).map(([k, sql]) => [Number(k), sql])] as [number, string][]
  const branches = all.map(([k, sql], i) => `${i === 0 ? 'IF' : 'ELSEIF'} ${key} = ${k} THEN ${sql};`)
  return `${branches.join(' ')} END IF;`
}

const functionUnseen =
  "a stored function's changes come back in a result set, whose EOF packet carries no session report, and its name says nothing"

export const changes: Change[] = [
  // Session variables, plain and disguised.
  { name: 'SET time_zone', steps: q("SET SESSION time_zone = '+05:00'") },
  { name: 'SET sql_mode', steps: q("SET sql_mode = 'ANSI_QUOTES'") },
  { name: 'SET sql_select_limit', steps: q('SET SESSION sql_select_limit = 1') },
  { name: 'SET isolation level', steps: q('SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE') },
  { name: 'SET TRANSACTION READ ONLY', steps: q('SET TRANSACTION READ ONLY') },
  { name: 'SET autocommit = 0', steps: q('SET autocommit = 0', `INSERT INTO ${n.rows} (v) VALUES ('a')`) },
  { name: 'session tracking off', steps: q('SET SESSION session_track_state_change = OFF') },
  { name: 'block comment SET', steps: q("/* c */ SET SESSION time_zone = '+02:00'") },
  { name: 'versioned comment SET', steps: q("/*!40101 SET SESSION time_zone = '+04:00' */") },
  {
    name: 'SET STATEMENT … FOR (no state)',
    leavesNothing: true,
    steps: q("SET STATEMENT time_zone = '+01:00' FOR SELECT 1"),
  },
  // Character sets: mysql2 follows these.
  { name: 'SET NAMES latin1', steps: q('SET NAMES latin1') },
  { name: 'SET character_set_client', steps: q('SET character_set_client = latin1') },
  { name: 'SET CHARACTER SET', steps: q('SET CHARACTER SET latin1') },
  { name: 'versioned SET NAMES', steps: q('/*!40101 SET NAMES latin1 */') },
  // User variables.
  { name: 'SET @user', steps: q('SET @fp_u1 = 42') },
  { name: 'SELECT @x := …', steps: q('SELECT @fp_u2 := 7 AS v') },
  { name: 'SELECT … INTO @x', steps: q('SELECT 1 INTO @fp_u3') },
  // Temporary tables.
  { name: 'temporary table', steps: q(`CREATE TEMPORARY TABLE ${n.temporaryTables[0]} (x INT)`) },
  {
    name: 'versioned temporary table',
    steps: q(`/*!32312 CREATE TEMPORARY TABLE ${n.temporaryTables[1]} (x INT) */`),
  },
  { name: 'temporary table like', steps: q(`CREATE TEMPORARY TABLE ${n.temporaryTables[2]} LIKE ${n.rows}`) },
  // Named locks in every disguise.
  { name: 'SELECT GET_LOCK', steps: q(`SELECT GET_LOCK('${lock('l1')}', 0)`) },
  { name: 'DO GET_LOCK', steps: q(`DO GET_LOCK('${lock('l2')}', 0)`) },
  { name: 'line comment GET_LOCK', steps: q(`-- c\nSELECT GET_LOCK('${lock('l4')}', 0)`) },
  { name: 'block comment GET_LOCK', steps: q(`/* c */ DO /* c */ GET_LOCK('${lock('l7')}', 0)`) },
  { name: 'versioned comment GET_LOCK', steps: q(`/*!50000 SELECT GET_LOCK('${lock('l8')}', 0) */`) },
  {
    name: 'PREPARE CONCAT GET_LOCK',
    steps: q(`PREPARE fp_ps4 FROM CONCAT('DO GET_', 'LOCK(''${lock('l9')}'', 0)')`, 'EXECUTE fp_ps4'),
  },
  {
    name: 'EXECUTE IMMEDIATE CONCAT GET_LOCK',
    steps: q(`EXECUTE IMMEDIATE CONCAT('DO GET_', 'LOCK(''${lock('l3')}'', 0)')`),
  },
  {
    name: 'execute() GET_LOCK',
    steps: [{ sql: 'SELECT GET_LOCK(?, 0) AS got', values: [lock('l5')], execute: true }],
  },
  { name: 'table lock', steps: q(`LOCK TABLES ${n.rows} READ`) },
  { name: 'HANDLER OPEN', steps: q(`HANDLER ${n.rows} OPEN`) },
  // Default database.
  { name: 'USE', undoneByNever: true, steps: q('USE information_schema') },
  { name: 'versioned USE', undoneByNever: true, steps: q('/*!40101 USE information_schema */') },
  // Transactions.
  { name: 'transaction left open', steps: q('START TRANSACTION', `INSERT INTO ${n.rows} (v) VALUES ('t')`) },
  { name: 'BEGIN left open', undoneByNever: true, steps: q('BEGIN') },
  {
    name: 'committed transaction',
    leavesNothing: true,
    steps: q('START TRANSACTION', `UPDATE ${n.rows} SET v = v WHERE id = 0`, 'COMMIT'),
  },
  // Roles: a reset keeps them on MariaDB 10.11.
  { name: 'SET ROLE', steps: q(`SET ROLE ${n.otherRole}`) },
  { name: 'SET ROLE NONE', steps: q('SET ROLE NONE') },
  { name: 'MariaDB versioned SET ROLE', steps: q('/*M!100100 SET ROLE NONE */') },
  {
    name: 'PREPARE CONCAT SET ROLE',
    steps: q(
      "PREPARE fp_ps3 FROM CONCAT('SET ROLE ', 'NONE')",
      'EXECUTE fp_ps3',
      'DEALLOCATE PREPARE fp_ps3',
    ),
  },
  // XA.
  {
    name: 'XA left active',
    undoneByNever: true,
    steps: q(`XA START '${n.xids[0]}'`, `INSERT INTO ${n.zoe} (v) VALUES ('xa')`),
  },
  {
    name: 'XA left prepared',
    undoneByNever: true,
    // With a write in it: MariaDB 10.11 rolls back a PREPARED branch that wrote nothing at the reset.
    steps: q(
      `XA START '${n.xids[1]}'`,
      `UPDATE ${n.zoe} SET v = v WHERE id > 0`,
      `INSERT INTO ${n.zoe} (v) VALUES ('xa')`,
      `XA END '${n.xids[1]}'`,
      `XA PREPARE '${n.xids[1]}'`,
    ),
  },
  {
    name: 'XA committed',
    leavesNothing: true,
    steps: q(
      `XA START '${n.xids[2]}'`,
      `XA END '${n.xids[2]}'`,
      `XA PREPARE '${n.xids[2]}'`,
      `XA COMMIT '${n.xids[2]}'`,
    ),
  },
  // LAST_INSERT_ID and sequences.
  { name: 'INSERT (generated id)', steps: q(`INSERT INTO ${n.rows} (v) VALUES ('i')`) },
  {
    name: 'execute() INSERT',
    steps: [{ sql: `INSERT INTO ${n.rows} (v) VALUES (?)`, values: ['e'], execute: true }],
  },
  { name: 'LAST_INSERT_ID(expr)', steps: q('SELECT LAST_INSERT_ID(77) AS v') },
  { name: 'NEXTVAL', steps: q(`SELECT NEXTVAL(${n.sequence}) AS v`) },
  { name: 'NEXT VALUE FOR', steps: q(`SELECT NEXT VALUE FOR ${n.sequence} AS v`) },
  {
    name: 'EXECUTE IMMEDIATE CONCAT NEXTVAL',
    steps: q(`EXECUTE IMMEDIATE CONCAT('DO NEXT', 'VAL(${n.sequence})')`),
  },
  {
    name: 'column DEFAULT NEXTVAL',
    steps: q(`INSERT INTO ${n.sequenceTable} (v) VALUES (1)`),
    unseenByAuto:
      "a column's DEFAULT NEXTVAL() sets LASTVAL() behind a plain INSERT, and no tracker reports it",
  },
  // Prepared statements.
  { name: 'PREPARE left', steps: q("PREPARE fp_ps1 FROM 'SELECT 1'") },
  {
    name: 'PREPARE SET @user',
    steps: q("PREPARE fp_ps2 FROM 'SET @fp_u4 = 1'", 'EXECUTE fp_ps2', 'DEALLOCATE PREPARE fp_ps2'),
  },
  { name: 'execute() SET @user', steps: [{ sql: 'SET @fp_u5 = ?', values: [5], execute: true }] },
  {
    name: 'execute() read',
    steps: [{ sql: `SELECT v FROM ${n.rows} WHERE id = ?`, values: [1], execute: true }],
  },
  // Multi-statement texts.
  { name: 'multi: SELECT; SET @user', steps: q('SELECT 1; SET @fp_u6 = 1'), multi: true },
  { name: 'multi: SELECT; GET_LOCK', steps: q(`SELECT 1; SELECT GET_LOCK('${lock('l6')}', 0)`), multi: true },
  { name: 'multi: DO; SET NAMES', steps: q('DO 1; SET NAMES latin1'), multi: true },
  {
    name: 'multi: SELECT; INSERT',
    steps: q(`SELECT 1; INSERT INTO ${n.rows} (v) VALUES ('m')`),
    multi: true,
  },
  // The last statement's warnings: SHOW WARNINGS, as the next invocation's first statement, lists them
  // (with the values they quote).
  {
    name: 'warning left by a read',
    steps: q("SELECT CAST('fp-secret' AS DECIMAL) AS v"),
    unseenByAuto:
      "a result set's warning count is not read, and a plain read leaves nothing else: SHOW WARNINGS as the next invocation's first statement lists the last statement's warnings",
  },
  { name: 'execute() SET NAMES', steps: [{ sql: 'SET NAMES latin1', execute: true }] },
  // Plain reads: no state at all.
  { name: 'plain read', leavesNothing: true, steps: q(`SELECT v FROM ${n.rows} WHERE v = 'José'`) },
  // A procedure (CALL): anything.
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(
    (k): Change => ({
      name: `procedure: ${routineActions[k]?.what ?? { 3: 'temporary table', 8: 'INSERT', 9: 'transaction left open', 10: 'PREPARE' }[k]}`,
      steps: q(`CALL ${n.procedure}(${k})`),
      ...(k === 9 ? { undoneByNever: true as const } : {}),
    }),
  ),
  // A stored function in a SELECT and a view over one: unseen by 'auto' whatever they do.
  ...[1, 2, 4, 5, 6, 7].map(
    (k): Change => ({
      name: `stored function: ${routineActions[k]?.what}`,
      steps: q(`SELECT ${n.func}(${k}) AS v`),
      unseenByAuto: functionUnseen,
    }),
  ),
  {
    name: 'view over a function: named lock',
    steps: q(`SELECT v FROM ${n.view}`),
    unseenByAuto: functionUnseen,
  },
  // A trigger fired by a plain INSERT: the server reports variables, user variables and roles it sets,
  // not named locks or sequences.
  ...[1, 2, 4, 5, 6, 7].map(
    (k): Change => ({
      name: `trigger: ${routineActions[k]?.what}`,
      steps: q(`INSERT INTO ${n.triggerTable} (k) VALUES (${k})`),
      ...(k === 4 || k === 6
        ? {
            unseenByAuto:
              'a trigger fired by a plain INSERT takes the lock or moves the sequence, and no tracker reports either',
          }
        : {}),
    }),
  ),
]

// The test's user, its roles (a default one and another), the tables, the sequence, the routines.
// Routines run as the user (SQL SECURITY INVOKER, the trigger's DEFINER is the user), as a handler's own
// routines would: MariaDB keeps a SET ROLE made in them.
export const setUpCatalogue = async (admin: mysql.Connection, user: string): Promise<void> => {
  const account = `'${user}'@'%'`
  const run = (sql: string) => admin.query(sql)
  await run(`CREATE ROLE ${n.defaultRole}`)
  await run(`CREATE ROLE ${n.otherRole}`)
  await run(`GRANT ${n.defaultRole} TO ${account}`)
  await run(`GRANT ${n.otherRole} TO ${account}`)
  await run(`SET DEFAULT ROLE ${n.defaultRole} FOR ${account}`)
  await run(
    `CREATE TABLE ${n.rows} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) CHARACTER SET utf8mb4) ENGINE=InnoDB`,
  )
  await run(`INSERT INTO ${n.rows} (v) VALUES ('José')`)
  await run(
    `CREATE TABLE ${n.zoe} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) CHARACTER SET utf8mb4) ENGINE=InnoDB`,
  )
  await run(`CREATE SEQUENCE ${n.sequence}`)
  await run(
    `CREATE TABLE ${n.sequenceTable} (id BIGINT PRIMARY KEY DEFAULT NEXTVAL(${n.sequence}), v INT) ENGINE=InnoDB`,
  )
  await run(`CREATE TABLE ${n.triggerTable} (k INT) ENGINE=InnoDB`)
  await run(
    `CREATE DEFINER = ${account} PROCEDURE ${n.procedure}(k INT) SQL SECURITY INVOKER BEGIN ${routineBody(
      'proc',
      'k',
      {
        3: `CREATE TEMPORARY TABLE ${n.temporaryTables[3]} (x INT)`,
        8: `INSERT INTO ${n.rows} (v) VALUES ('p')`,
        9: 'START TRANSACTION',
        10: "PREPARE fp_psproc FROM 'SELECT 1'",
      },
    )} END`,
  )
  await run(
    `CREATE DEFINER = ${account} FUNCTION ${n.func}(k INT) RETURNS INT SQL SECURITY INVOKER BEGIN ${routineBody('fn', 'k')} RETURN k; END`,
  )
  await run(
    `CREATE DEFINER = ${account} TRIGGER ${n.trigger} BEFORE INSERT ON ${n.triggerTable} FOR EACH ROW BEGIN ${routineBody('trig', 'NEW.k')} END`,
  )
  await run(`CREATE DEFINER = ${account} SQL SECURITY INVOKER VIEW ${n.view} AS SELECT ${n.func}(4) AS v`)
}

// Prepared XA transactions a discarded connection left behind (MariaDB keeps them after a disconnect):
// rolled back from outside, so that each run starts from the same server.
export const rollBackLeftXa = async (admin: mysql.Connection): Promise<void> => {
  const [rows] = await admin.query('XA RECOVER')
  for (const row of rows as { data: Buffer }[]) {
    const xid = row.data.toString()
    if (names.xids.includes(xid)) await admin.query('XA ROLLBACK ?', [xid]).catch(() => undefined)
  }
}

export const tearDownCatalogue = async (admin: mysql.Connection): Promise<void> => {
  await rollBackLeftXa(admin)
  for (const sql of [
    `DROP VIEW IF EXISTS ${n.view}`,
    `DROP TRIGGER IF EXISTS ${n.trigger}`,
    `DROP FUNCTION IF EXISTS ${n.func}`,
    `DROP PROCEDURE IF EXISTS ${n.procedure}`,
    ...[n.rows, n.zoe, n.sequenceTable, n.triggerTable].map((t) => `DROP TABLE IF EXISTS ${t}`),
    `DROP SEQUENCE IF EXISTS ${n.sequence}`,
    `DROP ROLE IF EXISTS ${n.defaultRole}`,
    `DROP ROLE IF EXISTS ${n.otherRole}`,
  ])
    await admin.query(sql)
}
