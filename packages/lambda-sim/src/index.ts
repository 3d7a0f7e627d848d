export type { BundleOptions, HandlerBundle } from './bundle.ts'
export { bundleHandler } from './bundle.ts'
export type { InvocationResult } from './environment.ts'
export { LambdaEnvironment, startEnvironment } from './environment.ts'
export {
  BundleError,
  EnvironmentStartError,
  LambdaSimError,
  type LambdaSimErrorCode,
  lambdaSimErrorCodes,
  packageName,
} from './errors.ts'
export type { EnvironmentOptions, LambdaSimOptions, LambdaSimSettings } from './options.ts'
export {
  environmentDefaults,
  lambdaSimDefaults,
  lambdaSimValidateOptions,
  validateEnvironmentOptions,
} from './options.ts'
export { liveEnvironmentProcessCount } from './process-tree.ts'
export { maxResponseBytes } from './runtime-api.ts'
export { type LambdaSimStats, lambdaSimStats } from './stats.ts'
export type { InvokeOptions, LogLine, SerializedError, ShutdownResult } from './types.ts'
