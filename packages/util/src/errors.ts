// The two error shapes every @thaw package throws, so that a handler branches on one convention:
// - a TypeError at construction for an option that cannot work: the message starts with the package
//   name, names the option path and what was expected, and `cause` carries { package, option };
// - a ThawError at run time: `code` is THAW_*, the message starts with the package name.
// Neither ever carries an option's value beyond describeValue's summary: it may be a secret.

export interface OptionErrorCause {
  package: string
  option: string
}

/**
 * The TypeError for a bad option: the message prefixed with the package's name, `cause: { package, option }`.
 * @example throw optionError('@thaw/orders', 'retries', "option 'retries' must be an integer, got a string")
 */
export const optionError = (packageName: string, option: string, message: string): TypeError =>
  new TypeError(`${packageName}: ${message}`, { cause: { package: packageName, option } })

export class ThawError extends Error {
  override name = 'ThawError'
  readonly code: string
  readonly package: string
  constructor(packageName: string, code: string, message: string, options?: ErrorOptions) {
    super(`${packageName}: ${message}`, options)
    this.code = code
    this.package = packageName
  }
}
