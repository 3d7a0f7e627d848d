// The environment variables Lambda sets for a Node.js function, as a pure function of the settings and
// of where this environment's parts are. The names are those of Lambda's "Defined runtime environment
// variables" page and of what aws-lambda-ric 4.0.2 reads.
import { basename, extname } from 'node:path'
import type { HandlerBundle } from './bundle.ts'
import type { Sandbox } from './sandbox.ts'

// What the variables depend on, of the settings (options.ts's LambdaSimSettings has it all). Named here
// rather than imported: options.ts checks `env` against the variables below, and imports this file.
export interface VariableSettings {
  region: string
  memoryMb: number
  exportName: string
  workers: number | undefined
  concurrency: number
  env: Readonly<Record<string, string>>
  runtimeClient: 'javascript' | 'native'
  tmpDir: string | undefined
}

export const lambdaVariables = (
  settings: Omit<VariableSettings, 'tmpDir'>,
  functionName: string,
  bundle: Pick<HandlerBundle, 'file' | 'directory'>,
  sandbox: Pick<Sandbox, 'tmpDir' | 'logStreamName'>,
  // host:port of the Runtime API served for this process.
  runtimeApi: string,
): Record<string, string> => {
  const { region, memoryMb, exportName, workers, concurrency } = settings
  return {
    PATH: '/var/lang/bin:/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    TMPDIR: sandbox.tmpDir,
    LAMBDA_TASK_ROOT: bundle.directory,
    LAMBDA_RUNTIME_DIR: bundle.directory,
    _HANDLER: `${basename(bundle.file, extname(bundle.file))}.${exportName}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: sandbox.logStreamName,
    // The JSON log format carries the request id on every line: that is how lines find their invocation.
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    // With the native client only: the ric's own switch to ask for /next with node:http. The native
    // client waits for /next in curl on a libuv pool thread, and at exit Node joins the pool: a SIGTERM
    // listener's process.exit() then hangs until SIGKILL (seen with aws-lambda-ric 4.0.2 on Node
    // 24.21), and in multi-concurrency mode each worker thread's wait takes a pool thread from the
    // handlers' fs and dns calls. The JavaScript client asks for /next itself, after its last post.
    ...(settings.runtimeClient === 'native' ? { AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1: 'true' } : {}),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Lambda hands the function its role's credentials in the environment. Fake ones here keep the
    // SDK's default provider chain from ever looking for an instance metadata service.
    AWS_ACCESS_KEY_ID: 'ASIATHAWLAMBDASIM000',
    AWS_SECRET_ACCESS_KEY: 'thaw-lambda-sim-secret-access-key',
    AWS_SESSION_TOKEN: 'thaw-lambda-sim-session-token',
    ...(workers === undefined
      ? {}
      : {
          AWS_LAMBDA_MAX_CONCURRENCY: String(concurrency),
          AWS_LAMBDA_NODEJS_WORKER_COUNT: String(workers),
        }),
    ...settings.env,
  }
}

// The variables `env` may not set, because the environment is built on them: the runtime's wiring to
// the simulator (another value, and init never ends, the handler is not found, or the log lines no
// longer find their invocation).
export const wiringVariables: Readonly<Record<string, string>> = {
  AWS_LAMBDA_RUNTIME_API: 'the Runtime API the simulator serves for the runtime',
  _HANDLER: 'the bundle and export the simulator runs (exportName)',
  LAMBDA_TASK_ROOT: "the bundle's directory",
  LAMBDA_RUNTIME_DIR: "the bundle's directory",
  AWS_LAMBDA_LOG_FORMAT: 'JSON: the request id on every line is how lines find their invocation',
  _LAMBDA_TELEMETRY_LOG_FD: 'stdout, where the simulator reads the log lines',
  AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1:
    'how the runtime asks for /next, which the runtime client decides',
}

// The variables an option sets: `env` may repeat them only with the value the option gives them, since
// the simulator acts on the option (the memory watch on memoryMb, the ARN on region and functionName,
// init on workers, the dispatch on concurrency, the cleanup on tmpDir).
export const optionVariables = (
  settings: Pick<VariableSettings, 'region' | 'memoryMb' | 'workers' | 'concurrency' | 'tmpDir'>,
  functionName: string,
): Record<string, { option: string; value: string | undefined }> => ({
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: { option: 'memoryMb', value: String(settings.memoryMb) },
  AWS_LAMBDA_FUNCTION_NAME: { option: 'functionName', value: functionName },
  AWS_REGION: { option: 'region', value: settings.region },
  AWS_DEFAULT_REGION: { option: 'region', value: settings.region },
  AWS_LAMBDA_MAX_CONCURRENCY: {
    option: 'concurrency',
    value: settings.workers === undefined ? undefined : String(settings.concurrency),
  },
  AWS_LAMBDA_NODEJS_WORKER_COUNT: {
    option: 'workers',
    value: settings.workers === undefined ? undefined : String(settings.workers),
  },
  TMPDIR: { option: 'tmpDir', value: settings.tmpDir },
})

// NODE_OPTIONS flags that load code into the runtime ahead of aws-lambda-ric: the environment runs the
// bundle, as Lambda runs the deployment package, and a preload names a file of this machine that no
// deployment carries (a relative one resolves against the bundle's directory and ends init); it
// would also run in every Node process the handler starts, and before the Runtime API client that
// the simulator preloads itself.
const preloadFlag = /(?:^|\s)(-r|--require|--import|--loader|--experimental-loader)(?=[=\s]|$)/

export const preloadIn = (nodeOptions: string): string | undefined => preloadFlag.exec(nodeOptions)?.[1]
