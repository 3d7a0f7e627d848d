import sdkClients from './middleware.ts'

export default sdkClients
export {
  packageName,
  SdkClientsError,
  type SdkClientsErrorCode,
  sdkClientsErrorCodes,
} from './errors.ts'
export {
  type ClientEntry,
  type SdkClientsOptions,
  type SdkClientsSettings,
  sdkClientsDefaults,
  sdkClientsOptionTable,
  sdkClientsValidateOptions,
} from './options.ts'
export { destroyClients, type GetClientOptions, getClient } from './registry.ts'
export { type SdkClientsStats, sdkClientsStats } from './stats.ts'
export type {
  AssumeRole,
  AwsClient,
  Capture,
  ClientClass,
  ClientConfig,
  ClientDefinition,
  ClientOf,
  ClientSpec,
  ClientsOf,
  CredentialProvidersModule,
  SdkClientsContext,
  SdkClientsMiddleware,
} from './types.ts'
