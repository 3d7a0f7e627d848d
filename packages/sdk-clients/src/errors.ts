// The package's name, which starts every message, and the error a handler catches at run time.
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/sdk-clients'

// The THAW_SDK_CLIENTS_* codes sdk-clients throws at run time. A handler branches on `error.code`;
// every package's codes start with THAW_ and its own name, so a code says where it came from.
export const sdkClientsErrorCodes = {
  // A NodeHttpHandler whose agent has keepAlive false: its agents are known only once its
  // configuration resolves, so the refusal comes with the first invocation, not at construction.
  keepAliveOff: 'THAW_SDK_CLIENTS_KEEP_ALIVE_OFF',
  // `assumeRole` without @aws-sdk/credential-providers where the client's first request looked for it
  // (a bundle without it, on a runtime that does not ship it).
  missingPeer: 'THAW_SDK_CLIENTS_MISSING_PEER',
} as const

export type SdkClientsErrorCode = (typeof sdkClientsErrorCodes)[keyof typeof sdkClientsErrorCodes]

export class SdkClientsError extends ThawError {
  override name = 'SdkClientsError'
  constructor(code: SdkClientsErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}
