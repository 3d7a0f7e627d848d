// aws-lambda-ric's Runtime API client (`rapid-client.node`, aws-lambda-cpp over curl) written in
// JavaScript: the same three functions with the same contract, loaded in its place by ./preload.ts.
//
// - next(): a promise of { bodyJson, headers } for the next invocation, the headers named and typed as
//   the native client gives them (the deadline a number; client context, identity and tenant id only
//   when present).
// - done(id, body) and error(id, body, xrayCause): synchronous, as the native client's are: curl posts
//   and reads the answer before they return, so no code of the function runs between the answer and
//   its arrival, and the runtime asks for its next invocation only after the Runtime API has the
//   answer. Node has no synchronous HTTP: a worker thread of this module posts, on one keep-alive
//   connection (aws-lambda-cpp keeps one curl handle per thread), while the calling thread waits on a
//   shared word (Atomics.wait). Like the native client they return null whatever the Runtime API
//   answered, and refuse arguments that are not strings with a TypeError.
import { request } from 'node:http'
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import { type PostRequest, runtimeApiEndpoint, userAgent } from './post.ts'

const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

// [0]: the poster's answers counted (the caller waits for it to move); [1]: 1 once the poster has ended;
// [2]: 1 once the poster listens.
const signal = new Int32Array(new SharedArrayBuffer(12))
const channel = new MessageChannel()
const poster = new Worker(new URL(`./poster${extension}`, import.meta.url), {
  workerData: { signal, port: channel.port2, endpoint: runtimeApiEndpoint() },
  transferList: [channel.port2],
  // Not the runtime's flags: no preload (it would load this module again), no heap size of its own.
  execArgv: [],
  stdout: false,
  stderr: false,
})
// The poster never keeps the runtime alive: the runtime's own loop decides when it ends.
poster.unref()
channel.port1.unref()
// The native client is ready once loaded: so is this one, its poster listening before the runtime's
// init goes on (else the first answer would wait for a thread to start, in the invocation's time).
while (Atomics.load(signal, 2) === 0 && Atomics.load(signal, 1) === 0) Atomics.wait(signal, 2, 0, 1_000)

// How long one look at the shared word lasts; the wait itself ends only with an answer or with the
// poster's end, as curl's transfer has no timeout either (CURLOPT_TIMEOUT 0).
const lookEveryMs = 1_000

const postAndWait = (post: PostRequest): void => {
  const answered = Atomics.load(signal, 0)
  channel.port1.postMessage(post)
  while (Atomics.load(signal, 0) === answered && Atomics.load(signal, 1) === 0)
    Atomics.wait(signal, 0, answered, lookEveryMs)
  // The poster's reply (status or failure) is read and dropped: the native client ignores it too.
  receiveMessageOnPort(channel.port1)
}

const strings = (values: unknown[], count: number): values is string[] => {
  if (values.length < count) throw new TypeError(`Wrong number of arguments, expected ${count}`)
  if (!values.slice(0, count).every((value) => typeof value === 'string'))
    throw new TypeError('Wrong arguments')
  return true
}

export function done(...values: unknown[]): null {
  if (strings(values, 2)) {
    const [id, body] = values as [string, string]
    postAndWait({ path: `/2018-06-01/runtime/invocation/${id}/response`, body, xrayCause: '' })
  }
  return null
}

export function error(...values: unknown[]): null {
  if (strings(values, 3)) {
    const [id, body, xrayCause] = values as [string, string, string]
    postAndWait({ path: `/2018-06-01/runtime/invocation/${id}/error`, body, xrayCause })
  }
  return null
}

interface NextInvocation {
  bodyJson: string
  headers: Record<string, string | number>
}

const optionalHeaders = [
  'lambda-runtime-client-context',
  'lambda-runtime-cognito-identity',
  'lambda-runtime-aws-tenant-id',
]

export function next(): Promise<NextInvocation> {
  const { hostname, port } = runtimeApiEndpoint()
  return new Promise((resolve, reject) => {
    const get = request(
      {
        hostname,
        port,
        path: '/2018-06-01/runtime/invocation/next',
        method: 'GET',
        headers: { 'User-Agent': userAgent },
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.once('error', reject)
        response.once('end', () => {
          const status = response.statusCode ?? 0
          const header = (name: string) => {
            const value = response.headers[name]
            return typeof value === 'string' ? value : ''
          }
          const requestId = header('lambda-runtime-aws-request-id')
          // aws-lambda-cpp's get_next: a failure is "error <code>", the code the HTTP status, or -1 for
          // no usable answer (no request id).
          if (status < 200 || status > 299 || !requestId)
            return reject(
              new Error(
                `Failed to get next invocation, error ${requestId || status < 200 || status > 299 ? status : -1}`,
              ),
            )
          const headers: Record<string, string | number> = {
            'lambda-runtime-deadline-ms': Number.parseInt(header('lambda-runtime-deadline-ms'), 10) || 0,
            'lambda-runtime-aws-request-id': requestId,
            'lambda-runtime-trace-id': header('lambda-runtime-trace-id'),
            'lambda-runtime-invoked-function-arn': header('lambda-runtime-invoked-function-arn'),
          }
          for (const name of optionalHeaders) if (header(name)) headers[name] = header(name)
          resolve({ bodyJson: Buffer.concat(chunks).toString('utf8'), headers })
        })
      },
    )
    get.once('error', () => reject(new Error('Failed to get next invocation, error -1')))
    get.end()
  })
}
