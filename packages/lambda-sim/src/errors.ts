// The simulator's errors: a LambdaSimError (a ThawError) with a THAW_LAMBDA_SIM_* code, for what the
// caller did wrong or what the environment could not do. A handler's own failure is never thrown: it
// is the invocation's outcome ({ ok: false, error }), as Lambda returns it.
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/lambda-sim'

export const lambdaSimErrorCodes = {
  // esbuild could not bundle the entry.
  bundleFailed: 'THAW_LAMBDA_SIM_BUNDLE_FAILED',
  // The init phase failed, timed out, or the runtime died during it.
  initFailed: 'THAW_LAMBDA_SIM_INIT_FAILED',
  // invoke() was given an event that JSON cannot carry (BigInt, a cycle) or one over Lambda's 6 MB.
  eventRefused: 'THAW_LAMBDA_SIM_EVENT_REFUSED',
  // invoke() after shutdown().
  shutDown: 'THAW_LAMBDA_SIM_SHUT_DOWN',
} as const

export type LambdaSimErrorCode = (typeof lambdaSimErrorCodes)[keyof typeof lambdaSimErrorCodes]

export class LambdaSimError extends ThawError {
  override name = 'LambdaSimError'
  declare readonly code: LambdaSimErrorCode
  constructor(code: LambdaSimErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}

// Kept by name for callers that caught them before 0.2: both are LambdaSimErrors now.
export class BundleError extends LambdaSimError {
  override name = 'BundleError'
  constructor(message: string, options?: ErrorOptions) {
    super(lambdaSimErrorCodes.bundleFailed, message, options)
  }
}

export class EnvironmentStartError extends LambdaSimError {
  override name = 'EnvironmentStartError'
  constructor(message: string, options?: ErrorOptions) {
    super(lambdaSimErrorCodes.initFailed, message, options)
  }
}
