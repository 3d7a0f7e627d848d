/**
 * How an error message shows a value it refuses: its kind and, for short scalars, the value itself.
 * Never the contents of an object or a long string: either may carry a secret.
 * @example describeValue({ password: 'x' }) // 'an object', never its contents
 */
export const describeValue = (value: unknown): string => {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}${typeof value === 'bigint' ? 'n' : ''}`
    case 'string':
      return value.length <= 40
        ? `the string ${JSON.stringify(value)}`
        : `a string of ${value.length} characters`
    case 'symbol':
      return 'a symbol'
    case 'function':
      return `the function ${value.name || '(anonymous)'}`
  }
  const name = Object.getPrototypeOf(value)?.constructor?.name
  return typeof name === 'string' && name !== 'Object' ? `an instance of ${name}` : 'an object'
}
