// startEnvironment: options validated, the handler bundled (or a prebuilt bundle taken as it is), and
// one environment started, its init phase done; a failed start leaves nothing behind.
import { resolve } from 'node:path'
import { bundleHandler, prebuiltBundle } from './bundle.ts'
import { LambdaEnvironment } from './environment.ts'
import { type LambdaSimOptions, lambdaSimValidateOptions } from './options.ts'

/**
 * Bundles the handler and starts one execution environment, returning once its init phase is done.
 * @example
 * const environment = await startEnvironment({ entry: 'src/handler.ts', timeoutMs: 10_000 })
 * const outcome = await environment.invoke({ id: 42 }) // { ok: true, result, durationMs, coldStart, logs }
 * await environment.shutdown()
 */
export const startEnvironment = async (options: LambdaSimOptions): Promise<LambdaEnvironment> => {
  const settings = lambdaSimValidateOptions(options)
  const entry = resolve(settings.entry)
  const bundle = settings.prebuilt
    ? prebuiltBundle(entry)
    : await bundleHandler(entry, {
        ...(settings.build.conditions ? { conditions: settings.build.conditions } : {}),
        ...(settings.build.external ? { external: settings.build.external } : {}),
        minify: settings.build.minify,
      })
  const environment = new LambdaEnvironment(settings, entry, bundle)
  try {
    await environment.init()
  } catch (error) {
    await environment.shutdown()
    throw error
  }
  return environment
}
