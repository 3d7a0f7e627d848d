import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The fixtures of a test folder: `const fixture = fixturesOf(import.meta.url)`, then `fixture('handler')`
// is the path of ./fixtures/handler.ts beside the test file.
export const fixturesOf =
  (testFileUrl: string) =>
  (name: string): string =>
    fileURLToPath(new URL(`./fixtures/${name}.ts`, testFileUrl))

// The database the tests use: DATABASE_URL, or the local MariaDB's `test` database.
export const databaseUrl = (): string => process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test'

// The database name in DATABASE_URL: tests never hard-code `test`.
export const databaseName = (): string =>
  decodeURIComponent(new URL(databaseUrl()).pathname.slice(1)) || 'test'

// The MemorySize (MB) a SAM template gives its function, so that an example's test runs the bundle in
// the memory it is deployed with (lambda-sim enforces it, as Lambda does). One function per template.
export const samMemorySize = (templateUrl: URL): number => {
  const sizes = [...readFileSync(templateUrl, 'utf8').matchAll(/^\s*MemorySize:\s*(\d+)\s*$/gm)]
  if (sizes.length !== 1)
    throw new Error(`${fileURLToPath(templateUrl)}: expected one MemorySize, found ${sizes.length}`)
  return Number(sizes[0]?.[1])
}
