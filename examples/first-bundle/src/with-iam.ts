// RDS IAM authentication: the bundle needs @aws-sdk/rds-signer and nothing of Secrets Manager.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'

export const handler = middy()
  .use(
    dbConnection({
      config: {
        host: process.env.DB_HOST ?? 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
        port: Number(process.env.DB_PORT ?? 3306),
        user: 'app',
        database: 'orders',
        ssl: 'Amazon RDS',
      },
      iam: { region: 'eu-west-1' },
    }),
  )
  .handler(async (_event, context) => {
    const [rows] = await context.db.query('SELECT 1')
    return rows
  })
