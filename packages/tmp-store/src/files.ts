// How the store touches a file in its directory, whatever another program planted under its names
// (/tmp outlives invocations and, with Managed Instances or a compromised dependency, other code
// writes there too). Checked on Linux 6.x with Node 22.23 and 24.21:
// - O_NOFOLLOW: a symlink (dangling or not) under the name fails the open with ELOOP, never followed.
// - O_NONBLOCK: a FIFO opens at once (no waiting for a writer, which blocked the thread's event loop
//   for good with a plain open), and so does a device; fstat on the open descriptor then says what
//   it is. On a regular file the flag changes nothing.
// - fstat on the descriptor, not lstat on the name: what is checked is what is read or written.
// - A regular file whose link count is not 1 is a hard link to a file that may be outside the
//   directory: the store never makes one, so it is damaged and its contents are never read.
// - Names are replaced by rename (a rename replaces a planted link itself, never its target) and
//   removed by unlink or, for a planted directory, rmdir or a rename aside; nothing is ever
//   truncated or written in place, and nothing is removed recursively.
import type { FileHandle, Stats } from './node-builtins.ts'
import {
  close,
  closeSync,
  constants,
  fstat,
  fstatSync,
  futimes,
  open,
  openFd,
  openSync,
  randomBytes,
  read,
  readSync,
  renameSync,
  rmdirSync,
  threadId,
  unlinkSync,
  writeSync,
} from './node-builtins.ts'

export const readFlags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
export const createFlags =
  constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

export const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException)?.code

interface FileKind {
  isFile(): boolean
  nlink: number
}

/** A regular file with one name: the only kind of file the store makes. */
export const isOwnFile = (stats: FileKind): boolean => stats.isFile() && stats.nlink === 1

/** What an open found under a name: the file, nothing, or something the store did not make. */
export type Opened<T> = { fd: T; stats: Stats } | 'missing' | 'damaged'

// ELOOP: a symlink under the name. ENXIO: a FIFO without a reader opened for writing, or a socket.
// EISDIR: a directory opened for writing.
const damagedCodes = new Set(['ELOOP', 'ENXIO', 'EISDIR', 'ENOTDIR', 'EMLINK'])

// What a failed open means: nothing there, or something planted that is not an entry's file; any
// other error (EACCES, EMFILE) is thrown.
const openFailure = (error: unknown): 'missing' | 'damaged' => {
  const code = errorCode(error)
  if (code === 'ENOENT') return 'missing'
  if (code !== undefined && damagedCodes.has(code)) return 'damaged'
  throw error
}

/** Opens a name for reading, never following a link nor waiting; other errors (EACCES, EMFILE) throw. */
export const openRegularSync = (path: string): Opened<number> => {
  let fd: number
  try {
    fd = openSync(path, readFlags)
  } catch (error) {
    return openFailure(error)
  }
  let stats: Stats
  try {
    stats = fstatSync(fd)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  if (!isOwnFile(stats)) {
    closeSync(fd)
    return 'damaged'
  }
  return { fd, stats }
}

/** openRegularSync, without blocking the thread on the open. */
export const openRegular = async (path: string): Promise<Opened<FileHandle>> => {
  let handle: FileHandle
  try {
    handle = await open(path, readFlags)
  } catch (error) {
    return openFailure(error)
  }
  let stats: Stats
  try {
    stats = await handle.stat()
  } catch (error) {
    await handle.close()
    throw error
  }
  if (!isOwnFile(stats)) {
    await handle.close()
    return 'damaged'
  }
  return { fd: handle, stats }
}

// The hit path's calls, as plain callbacks wrapped once: no FileHandle (whose creation and tracking
// cost about 5 % of a 4 KiB read here, Node 24.21), so a hit costs what fs.readFile costs.
const settle =
  <T>(resolve: (value: T) => void, reject: (error: unknown) => void) =>
  (error: NodeJS.ErrnoException | null, value: T) =>
    error ? reject(error) : resolve(value)

export const closeFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())))

export const readFd = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buffer, offset, length, position, settle(resolve, reject)),
  )

export const futimesFd = (fd: number, time: Date): Promise<void> =>
  new Promise((resolve, reject) => futimes(fd, time, time, (error) => (error ? reject(error) : resolve())))

/** openRegularSync without blocking the thread, as a descriptor (the hit path). */
export const openRegularFd = async (path: string): Promise<Opened<number>> => {
  let fd: number
  try {
    fd = await new Promise<number>((resolve, reject) => openFd(path, readFlags, settle(resolve, reject)))
  } catch (error) {
    return openFailure(error)
  }
  let stats: Stats
  try {
    stats = await new Promise<Stats>((resolve, reject) => fstat(fd, settle(resolve, reject)))
  } catch (error) {
    await closeFd(fd)
    throw error
  }
  if (!isOwnFile(stats)) {
    await closeFd(fd)
    return 'damaged'
  }
  return { fd, stats }
}

/** The text of a small file the store wrote (a lock's owner, the ledger), or why there is none. */
export const readSmallFileSync = (path: string, maxBytes = 4096): string | 'missing' | 'damaged' => {
  const opened = openRegularSync(path)
  if (typeof opened === 'string') return opened
  try {
    if (opened.stats.size > maxBytes) return 'damaged'
    const buffer = Buffer.alloc(opened.stats.size)
    let length = 0
    while (length < buffer.length) {
      const read = readSync(opened.fd, buffer, length, buffer.length - length, length)
      if (read === 0) break
      length += read
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(opened.fd)
  }
}

/** A fresh file under a name nobody else uses (O_EXCL: an existing name, even a dangling link, fails). */
export const createExclusiveSync = (path: string): number => openSync(path, createFlags, 0o600)

/** A temporary name beside `path`, naming its writer (pid and thread) for the crash cleanup in scan.ts. */
export const temporaryName = (path: string, suffix: string): string =>
  `${path}.${process.pid}-${threadId}-${randomBytes(6).toString('hex')}.${suffix}`

/**
 * Replaces the small file at `path` with `text`: written to a new temporary file, then renamed over
 * the name (replacing whatever is there, a planted link included, never writing through it).
 */
export const replaceSmallFileSync = (path: string, text: string): void => {
  const temporary = temporaryName(path, 'partial')
  const fd = createExclusiveSync(temporary)
  try {
    try {
      writeSync(fd, text)
    } finally {
      closeSync(fd)
    }
    renameOverSync(temporary, path)
  } catch (error) {
    removeNameSync(temporary)
    throw error
  }
}

/**
 * Removes a name in the directory, whatever it is: a file, a link (the link, not its target), a FIFO,
 * an empty directory. A planted directory with contents is renamed aside (`<name>.damaged-<random>`)
 * and left, never removed recursively (a recursive removal can be steered outside by a link swapped
 * in while it walks). Whether something was there; ENOENT is not an error, others throw.
 */
export const removeNameSync = (path: string): boolean => {
  try {
    unlinkSync(path)
    return true
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT') return false
    // Linux answers EISDIR for unlink of a directory (POSIX allows EPERM).
    if (code !== 'EISDIR' && code !== 'EPERM') throw error
  }
  try {
    rmdirSync(path)
    return true
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT') return false
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error
  }
  renameSync(path, `${path}.damaged-${randomBytes(6).toString('hex')}`)
  return true
}

/**
 * rename(from, to), where a directory planted at `to` (which makes the rename fail with EISDIR,
 * ENOTEMPTY or EEXIST) is moved out of the way first, once.
 */
export const renameOverSync = (from: string, to: string): void => {
  try {
    renameSync(from, to)
  } catch (error) {
    const code = errorCode(error)
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw error
    removeNameSync(to)
    renameSync(from, to)
  }
}
