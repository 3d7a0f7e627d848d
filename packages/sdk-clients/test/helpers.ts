import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { fixturesOf, startedThings, startSecretsManagerPeer } from '@thaw/test-support'

const fixture = fixturesOf(import.meta.url)

// Environments and peers started by a test file, stopped after it whatever happened.
const started = startedThings()

export const startTestEnvironment = async (
  name: string,
  options: Omit<EnvironmentOptions, 'entry'> = {},
): Promise<LambdaEnvironment> =>
  started.add(
    // Workspace packages (@thaw/util) resolve to their sources, as in jest: a fresh clone has no dist/.
    await startEnvironment({ entry: fixture(name), build: { conditions: ['@thaw/source'] }, ...options }),
  )

export const startTestPeer = async (...args: Parameters<typeof startSecretsManagerPeer>) =>
  started.add(await startSecretsManagerPeer(...args))

export const stopStarted = (): Promise<void> => started.stopAll()
