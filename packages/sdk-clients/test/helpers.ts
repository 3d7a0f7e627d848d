import { fileURLToPath } from 'node:url'
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { type SecretsManagerPeer, startSecretsManagerPeer } from '../src/testing/index.ts'

export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))

// Static credentials: the peer records the access key id and checks no signature.
export const testCredentials = {
  accessKeyId: 'AKIDSDKCLIENTSTEST',
  secretAccessKey: 'sdk-clients-test-secret',
}

// A client configuration that talks to a peer, in this process.
export const peerConfig = (
  peer: SecretsManagerPeer,
  extra: SecretsManagerClientConfig = {},
): SecretsManagerClientConfig => ({
  region: 'us-east-1',
  endpoint: peer.endpoint,
  credentials: testCredentials,
  maxAttempts: 1,
  ...extra,
})

// Environments and peers started by a test file, stopped after it whatever happened.
const started: { shutdown: () => Promise<unknown> }[] = []

export const startTestEnvironment = async (
  name: string,
  options: Omit<EnvironmentOptions, 'entry'> = {},
): Promise<LambdaEnvironment> => {
  const environment = await startEnvironment({ entry: fixture(name), ...options })
  started.push(environment)
  return environment
}

export const startTestPeer = async (...args: Parameters<typeof startSecretsManagerPeer>) => {
  const peer = await startSecretsManagerPeer(...args)
  started.push({ shutdown: () => peer.close() })
  return peer
}

export const stopStarted = async () => {
  await Promise.all(started.splice(0).map((item) => item.shutdown()))
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
