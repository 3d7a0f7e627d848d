import { assertDatabaseAnswers, assertPostgresAnswers } from './database-url.ts'

export default async function checkDatabaseBeforeTests(): Promise<void> {
  await assertDatabaseAnswers()
  await assertPostgresAnswers()
}
