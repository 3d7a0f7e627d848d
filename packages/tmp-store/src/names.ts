// How keys become file names. A key is any string; its file name is the hex SHA-256 of its UTF-8
// bytes, so no key (`../x`, `/abs`, `\0`, 10 kB of unicode) can name a path outside the directory
// or collide with the store's own files. The key itself is kept in the entry's metadata file.
//
// Only well-formed keys are accepted: UTF-8 cannot encode a lone surrogate, and Node (checked 24.21)
// encodes '\uD800', '\uDBFF' and '\uFFFD' alike as EF BF BD, so two different keys would name one
// entry. Refusing them (rather than encoding them some other way) keeps the file names of every key
// that was ever valid unchanged, and a JSON or S3 key cannot hold a lone surrogate anyway.
import { invalidKeyError } from './errors.ts'
import { hash, join, randomBytes, threadId } from './node-builtins.ts'

// String.prototype.isWellFormed (ES2024, Node 20+); the project's TypeScript lib is ES2023.
const isWellFormed = (key: string): boolean => (key as unknown as { isWellFormed(): boolean }).isWellFormed()

/** The hash that names a key's files; throws THAW_TMP_STORE_INVALID_KEY for a key that is not a well-formed string. */
export const hashKey = (key: string): string => {
  if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKeyError(key)
  // crypto.hash: the one-shot digest (Node 20.12+), cheaper than createHash on the hit path.
  return hash('sha256', key, 'hex')
}

export const dataFile = (dir: string, hash: string) => join(dir, `${hash}.data`)
export const metaFile = (dir: string, hash: string) => join(dir, `${hash}.meta`)
export const lockFile = (dir: string, hash: string) => join(dir, `${hash}.lock`)
/** The directory-wide lock held while an entry is committed against the byte budget. */
export const budgetLockFile = (dir: string) => join(dir, '.budget.lock')

/** The committed bytes of the whole directory, kept under the budget lock (see store.ts). */
export const ledgerFile = (dir: string) => join(dir, '.budget')

// A partial file names its writer (pid and thread) so that the next init can tell a crashed
// writer's leftovers from a live writer's work in progress.
export const partialFile = (dir: string, hash: string, suffix = 'data') =>
  join(dir, `${hash}.${process.pid}-${threadId}-${randomBytes(6).toString('hex')}.${suffix}-partial`)

export type ParsedName =
  | { kind: 'data' | 'meta' | 'lock'; hash: string }
  | { kind: 'partial'; hash: string; pid: number; threadId: number }
  | { kind: 'stale-lock'; hash: string }
  | { kind: 'ledger-partial'; pid: number; threadId: number }
  | { kind: 'damaged' }

const namePattern =
  /^([0-9a-f]{64})\.(?:(data|meta|lock)|(\d+)-(\d+)-[0-9a-f]+\.(?:data|meta)-partial|lock\.stale-[0-9a-f]+)$/
// The ledger's temporary file (files.ts replaceSmallFileSync), the budget lock moved aside, and
// anything the store moved aside because it could not remove it (a planted directory with contents).
const ledgerPartialPattern = /^\.budget\.(\d+)-(\d+)-[0-9a-f]+\.partial$/
const damagedPattern = /(?:^\.budget\.lock\.stale-[0-9a-f]+|\.damaged-[0-9a-f]+)$/

/** What a name in the directory is, or undefined for a file the store did not make (left alone). */
export const parseName = (name: string): ParsedName | undefined => {
  const match = namePattern.exec(name)
  if (!match) {
    const ledger = ledgerPartialPattern.exec(name)
    if (ledger) return { kind: 'ledger-partial', pid: Number(ledger[1]), threadId: Number(ledger[2]) }
    return damagedPattern.test(name) ? { kind: 'damaged' } : undefined
  }
  const hash = match[1] as string
  if (match[2]) return { kind: match[2] as 'data' | 'meta' | 'lock', hash }
  if (match[3]) return { kind: 'partial', hash, pid: Number(match[3]), threadId: Number(match[4]) }
  return { kind: 'stale-lock', hash }
}
