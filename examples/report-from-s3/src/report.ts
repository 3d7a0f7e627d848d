// The report's SQLite side: the open database and the query. Shared by the handler and by its
// hand-written twin in scripts/bench/twins (so that the cold-start comparison differs in the S3 and
// /tmp part alone).
import { statSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'

export interface ReportEvent {
  region?: string
}

export interface ReportRow {
  region: string
  orders: number
  total: number
}

// The open database survives warm invocations too. A new version of the object is a new file renamed
// into place (a new inode, possibly written by another thread or process): only then is it reopened.
let openDatabase: { inode: number; database: DatabaseSync } | undefined

const openReadOnly = (path: string): DatabaseSync => {
  const { ino: inode } = statSync(path)
  if (openDatabase?.inode === inode) return openDatabase.database
  openDatabase?.database.close()
  const database = new DatabaseSync(path, { readOnly: true })
  openDatabase = { inode, database }
  return database
}

/** Sales by region (one region, or all of them) from the SQLite file at `path`. */
export const reportRows = (path: string, event: ReportEvent): ReportRow[] =>
  openReadOnly(path)
    .prepare(
      `SELECT region, COUNT(*) AS orders, SUM(amount) AS total FROM sales
       WHERE ?1 IS NULL OR region = ?1 GROUP BY region ORDER BY region`,
    )
    .all(event.region ?? null) as unknown as ReportRow[]
