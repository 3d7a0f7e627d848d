import type { DatabaseSync } from 'node:sqlite'

// The query examples/report-from-s3 runs, for the everyday patterns the demo compares it with.
export const reportQuery = (database: DatabaseSync) =>
  database
    .prepare(
      'SELECT region, COUNT(*) AS orders, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region',
    )
    .all()
