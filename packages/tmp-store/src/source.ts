// What a fetch may hand the store, and how it becomes something stream.pipeline can drain into the
// file: bytes and strings as one chunk, streams and async iterables chunk by chunk (never whole).
import { Readable } from './node-builtins.ts'
import type { TmpData, TmpDataWithMeta, TmpFetchResult } from './types.ts'

const isAsyncIterable = (value: unknown): value is AsyncIterable<Uint8Array | string> =>
  typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function'

export const isTmpData = (value: unknown): value is TmpData =>
  typeof value === 'string' ||
  ArrayBuffer.isView(value) ||
  value instanceof Readable ||
  isAsyncIterable(value)

export const splitFetchResult = (result: TmpFetchResult): TmpDataWithMeta => {
  if (isTmpData(result)) return { data: result }
  if (result !== null && typeof result === 'object' && isTmpData(result.data)) return result
  throw new TypeError(
    'fetch must resolve with a Buffer, Uint8Array, string, Readable or AsyncIterable of bytes, or { data, meta }',
  )
}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The data as a pipeline source; the byte length too when it is known before writing. */
export const toSource = (
  data: TmpData,
): { source: Readable | AsyncIterable<unknown>; knownBytes?: number } => {
  if (typeof data === 'string') {
    const bytes = Buffer.from(data, 'utf8')
    return { source: Readable.from([bytes], { objectMode: false }), knownBytes: bytes.length }
  }
  if (ArrayBuffer.isView(data)) {
    const bytes = toBuffer(data as Uint8Array)
    return { source: Readable.from([bytes], { objectMode: false }), knownBytes: bytes.length }
  }
  return { source: data }
}
