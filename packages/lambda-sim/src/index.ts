export type { BundleOptions, HandlerBundle } from './bundle.ts'
export { bundleHandler, commonJsInteropBanner } from './bundle.ts'
export { LambdaEnvironment } from './environment.ts'
export {
  BundleError,
  EnvironmentStartError,
  LambdaSimError,
  type LambdaSimErrorCode,
  lambdaSimErrorCodes,
  packageName,
} from './errors.ts'
export { maxResponseBytes } from './limits.ts'
export type { EnvironmentOptions, LambdaSimOptions, LambdaSimSettings } from './options.ts'
export {
  environmentDefaults,
  lambdaSimDefaults,
  lambdaSimOptionTable,
  lambdaSimValidateOptions,
  validateEnvironmentOptions,
} from './options.ts'
export { liveEnvironmentProcessCount } from './process-tree.ts'
export { startEnvironment } from './start.ts'
export { type LambdaSimStats, lambdaSimStats } from './stats.ts'
export type { InvocationResult, InvokeOptions, LogLine, SerializedError, ShutdownResult } from './types.ts'
