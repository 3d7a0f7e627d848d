// The end of the write pipeline: a Writable over a file descriptor that counts bytes (and refuses
// to pass the budget as soon as it is passed, not after the whole download), hashes them when a
// checksum is wanted, and on ENOSPC asks the store to make room once, then retries the same write.
import type { Hash } from './node-builtins.ts'
import { createHash, Writable, write } from './node-builtins.ts'

export interface SinkOptions {
  fd: number
  maxBytes: number
  checksum: boolean
  onTooLarge: (bytes: number) => Error
  /** Turns a file-system error into the error the caller sees. */
  onError: (error: unknown) => Error
  /** Frees at least `bytes` if it can; resolves once done. Called at most once per sink. */
  makeRoom: (bytes: number) => Promise<void>
}

const writeAll = (fd: number, chunk: Buffer, position: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const step = (offset: number) =>
      write(fd, chunk, offset, chunk.length - offset, position + offset, (error, written) => {
        if (error) reject(error)
        else if (offset + written < chunk.length) step(offset + written)
        else resolve()
      })
    step(0)
  })

export class FileSink extends Writable {
  bytes = 0
  readonly #options: SinkOptions
  readonly #hash: Hash | undefined
  #madeRoom = false
  #digest: string | undefined

  constructor(options: SinkOptions) {
    super({ decodeStrings: true })
    this.#options = options
    this.#hash = options.checksum ? createHash('sha256') : undefined
  }

  /** The hex SHA-256 of what was written, once the pipeline has finished (when checksum is on). */
  sha256(): string | undefined {
    this.#digest ??= this.#hash?.digest('hex')
    return this.#digest
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#writeChunk(chunk).then(() => callback(), callback)
  }

  async #writeChunk(chunk: Buffer): Promise<void> {
    const position = this.bytes
    if (position + chunk.length > this.#options.maxBytes)
      throw this.#options.onTooLarge(position + chunk.length)
    try {
      await writeAll(this.#options.fd, chunk, position)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC' || this.#madeRoom)
        throw this.#options.onError(error)
      // The disk is full (other files in /tmp, other writers): evict, then one more try.
      this.#madeRoom = true
      await this.#options.makeRoom(chunk.length)
      await writeAll(this.#options.fd, chunk, position).catch((again) => {
        throw this.#options.onError(again)
      })
    }
    this.bytes += chunk.length
    this.#hash?.update(chunk)
  }
}
