// The store's directory, made if missing and checked once, when the store opens: every symlink in its
// path resolved (inside it none is ever followed), a real directory, this user's, that no other user
// can write to, and that this process can read, write and search. A bad `dir` fails the init with a
// TypeError naming the option.
//
// What is not defended: code running as the same user can replace the directory itself after it was
// checked (it needs write access to the parent; /tmp's sticky bit keeps other users out).
import { optionError } from '@thaw/util'
import { packageName } from './errors.ts'
import { errorCode } from './files.ts'
import {
  accessSync,
  constants,
  dirname,
  existsSync,
  lstatSync,
  mkdirSync,
  realpathSync,
} from './node-builtins.ts'

// mkdir -p, by hand: Node's recursive mkdir never returns for a path under /proc (mkdir there fails
// with ENOENT although the parent exists, and it retries the parent forever; checked on Node 22 and 24).
const makeDirectory = (dir: string): void => {
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return
    const parent = dirname(dir)
    if (errorCode(error) !== 'ENOENT' || parent === dir || existsSync(parent)) throw error
    makeDirectory(parent)
    mkdirSync(dir, { mode: 0o700 })
  }
}

const refuse = (message: string): never => {
  throw optionError(packageName, 'dir', `option 'dir' must be ${message}`)
}

/** The directory's real path, once it is made and checked. */
export const openDirectory = (requestedDir: string): string => {
  let dir: string
  try {
    makeDirectory(requestedDir)
    accessSync(requestedDir, constants.W_OK | constants.R_OK | constants.X_OK)
    dir = realpathSync(requestedDir)
  } catch (error) {
    return refuse(
      `a writable directory, ${JSON.stringify(requestedDir)} is not (${errorCode(error) ?? (error as Error).message})`,
    )
  }
  const stats = lstatSync(dir)
  if (!stats.isDirectory()) refuse(`a writable directory, ${JSON.stringify(dir)} is not (ENOTDIR)`)
  const uid = process.getuid?.()
  if (uid !== undefined && stats.uid !== uid)
    refuse(`a directory of this user (uid ${uid}), ${JSON.stringify(dir)} belongs to uid ${stats.uid}`)
  if ((stats.mode & 0o022) !== 0)
    refuse(
      `a directory no other user can write to, ${JSON.stringify(dir)} has mode ${(stats.mode & 0o7777).toString(8)}`,
    )
  return dir
}
