// Errors the store throws on purpose, with names a handler can branch on.
export class TmpStoreEntryTooLargeError extends Error {
  override name = 'TmpStoreEntryTooLargeError'
  constructor(key: string, bytes: number, maxBytes: number) {
    super(
      `the entry for key ${JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)} is larger than the store's budget (${bytes} > maxBytes ${maxBytes} bytes)`,
    )
  }
}
