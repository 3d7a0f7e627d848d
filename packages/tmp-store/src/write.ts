// The write path: the data is streamed to a new partial file in the directory (created with
// O_CREAT|O_EXCL|O_NOFOLLOW, so it is always a fresh regular file of our own, on the same file system,
// so the rename that commits it is atomic), then committed against the budget. The caller holds the
// key's lock. A fetch's own error reaches the caller as it is; the file system's become TmpStoreErrors.
import type { Budget } from './budget.ts'
import { maxMetaBytes, type StoredMeta, type StoreSettings } from './entries.ts'
import {
  describeKey,
  fileSystemError,
  TmpStoreEntryTooLargeError,
  TmpStoreError,
  tmpStoreErrorCodes,
} from './errors.ts'
import { createExclusiveSync, removeNameSync } from './files.ts'
import { dataFile, partialFile } from './names.ts'
import { closeSync, fsyncSync, pipeline, Readable } from './node-builtins.ts'
import { FileSink } from './sink.ts'
import { toSource } from './source.ts'
import type { TmpData, TmpEntry, TmpPutOptions } from './types.ts'

export interface WriteParts {
  readonly dir: string
  readonly settings: StoreSettings
  readonly budget: Budget
}

// The fields known only once the data is written (size, createdAt, expiresAt, sha256) and the version
// take under 200 bytes of JSON; the key and meta are all the rest.
const metaFieldsBytes = 200

/**
 * Refuses metadata the store could not serve back, before anything is written: meta that is not a
 * plain object of strings (a number would come back as a number, a cycle would fail half-way through
 * the commit), and a key and meta whose metadata file would be over what a reader accepts (the entry
 * would be stored, counted against the budget and never found).
 */
export const checkEntryMeta = (key: string, data: TmpData, meta: unknown, where: string): void => {
  const refuse = (what: string) => {
    // The data is never read: a stream (an S3 body) is closed rather than left holding its socket.
    if (data instanceof Readable) data.destroy()
    throw new TmpStoreError(
      tmpStoreErrorCodes.invalidMeta,
      `${where} for key ${describeKey(key)} must be ${what}; nothing was stored`,
      { key },
    )
  }
  if (meta !== undefined) {
    const prototype = meta === null || typeof meta !== 'object' ? undefined : Object.getPrototypeOf(meta)
    if (prototype !== Object.prototype && prototype !== null)
      refuse(
        `a plain object of strings, got ${meta === null ? 'null' : Array.isArray(meta) ? 'an array' : typeof meta}`,
      )
    for (const [name, value] of Object.entries(meta as object))
      if (typeof value !== 'string')
        refuse(`a plain object of strings, got ${typeof value} at ${JSON.stringify(name)}`)
  }
  const bytes = Buffer.byteLength(JSON.stringify({ key, meta })) + metaFieldsBytes
  if (bytes > maxMetaBytes)
    refuse(`under ${maxMetaBytes} bytes as JSON together with its key, got about ${bytes} bytes`)
}

export const writeEntry = async (
  parts: WriteParts,
  hash: string,
  key: string,
  data: TmpData,
  options: TmpPutOptions,
): Promise<TmpEntry> => {
  const { dir, settings, budget } = parts
  const { source, knownBytes } = toSource(data)
  const tooLarge = (bytes: number) => new TmpStoreEntryTooLargeError(key, bytes, settings.maxBytes)
  if (knownBytes !== undefined && knownBytes > settings.maxBytes) throw tooLarge(knownBytes)
  const partial = partialFile(dir, hash)
  let fd: number
  try {
    fd = createExclusiveSync(partial)
  } catch (error) {
    throw fileSystemError(error, 'create a partial file', { key, path: partial })
  }
  let open = true
  try {
    const sink = new FileSink({
      fd,
      maxBytes: settings.maxBytes,
      checksum: settings.checksum,
      onTooLarge: tooLarge,
      onError: (error) => fileSystemError(error, 'write the entry', { key, path: partial }),
      makeRoom: (bytes) => budget.makeRoom(Math.max(bytes, knownBytes ?? 0), key),
    })
    await pipeline(source, sink)
    try {
      if (settings.fsync) fsyncSync(fd)
    } catch (error) {
      throw fileSystemError(error, 'fsync the entry', { key, path: partial })
    }
    closeSync(fd)
    open = false
    const createdAt = Date.now()
    const checksum = sink.sha256()
    const meta: StoredMeta = {
      v: 1,
      key,
      size: sink.bytes,
      createdAt,
      ...(checksum === undefined ? {} : { sha256: checksum }),
      ...(options.ttlMs === undefined ? {} : { expiresAt: createdAt + options.ttlMs }),
      ...(options.meta === undefined ? {} : { meta: options.meta }),
    }
    await budget.commit(hash, partial, meta)
    return { key, path: dataFile(dir, hash), size: meta.size }
  } catch (error) {
    if (open) closeSync(fd)
    try {
      removeNameSync(partial)
    } catch {
      // Already renamed into place, or the directory refuses: the next init removes a dead writer's partial.
    }
    throw error
  }
}
