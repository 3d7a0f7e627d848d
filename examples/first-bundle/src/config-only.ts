// The first handler a user bundles: a connection from a DSN, nothing else. Its bundle must build with
// none of db-connection's optional peers installed, and carry no Secrets Manager or IAM code.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'

export const handler = middy()
  .use(dbConnection({ config: process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test' }))
  .handler(async (_event, context) => {
    const [rows] = await context.db.query('SELECT 1 + 1 AS two')
    return rows
  })
