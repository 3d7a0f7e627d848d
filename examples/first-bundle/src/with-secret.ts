// Credentials from a Secrets Manager secret: the bundle needs @aws-sdk/client-secrets-manager and
// nothing of IAM.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'

export const handler = middy()
  .use(
    dbConnection({
      config: process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/test',
      secret: { secretId: process.env.DB_SECRET_ID ?? 'app/db' },
    }),
  )
  .handler(async (_event, context) => {
    const [rows] = await context.db.query('SELECT CURRENT_USER() AS user')
    return rows
  })
