// aws-lambda-ric's Runtime API client (`rapid-client.node`, aws-lambda-cpp over curl) written in
// JavaScript: the same three functions, loaded in its place by ./preload.js. One module, and so one
// keep-alive connection, per runtime thread (aws-lambda-cpp keeps one curl handle per thread).
//
// - done(id, body) and error(id, body, xrayCause) post the answer or the error and return null
//   whatever the Runtime API replies, and refuse arguments that are not strings with a TypeError, as
//   the native ones do. The native ones block until curl has the reply; these return once the post
//   is handed to the connection, whose bytes go out before any timer or I/O callback of the function
//   runs (the socket is written on the next tick). What differs: an answer larger than the socket's
//   buffer is written on as the socket drains, so code the function left behind that blocks the
//   thread, or exits the process, delays it or cuts it off where curl would have finished first. A
//   thread that waits in Atomics.wait for a worker that posts would close that gap, at about 15 MB
//   more resident memory per runtime thread (measured here, Node 24.21), which the memory limit
//   would count against the function.
// - next(): asks for the next invocation once the last post has its reply, so that the Runtime API
//   sees the answer before the request for the next invocation, as it does from the native client;
//   a promise of { bodyJson, headers }, the headers named and typed as the native client gives them
//   (the deadline a number; client context, identity and tenant id only when present). A failure is
//   "Failed to get next invocation, error <code>": the HTTP status, or -1 when no usable answer came.
import { postHeaders, runtimeApiEndpoint, userAgent } from './post.js'

// node:http's CommonJS exports, not its ES module: importing a built-in as an ES module reads every
// export, and node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are getters that load undici
// (22.7 ms of a 63 ms init here, Node 24.21; getBuiltinModule takes 2.7 ms). The native client loads
// no HTTP stack at all, so this was most of the JavaScript client's longer init.
const { Agent, request } = process.getBuiltinModule('node:http')

// Posts on one keep-alive connection (the Runtime API tells a Managed Instance's threads apart by the
// connection an answer comes on), requests for the next invocation on another: in multi-concurrency
// mode a thread asks for its next invocation while others it runs still have to answer, and a
// request waiting for an invocation holds its connection until one comes.
const postAgent = new Agent({ keepAlive: true, maxSockets: 1 })
const nextAgent = new Agent({ keepAlive: true, maxSockets: 1 })

// The last post, settled once its reply (or its failure) came.
/** @type {Promise<void>} */
let lastPost = Promise.resolve()

/**
 * @param {string} path
 * @param {string} body
 * @param {string} xrayCause
 */
const post = (path, body, xrayCause) => {
  const { hostname, port } = runtimeApiEndpoint()
  lastPost = new Promise((settle) => {
    const sent = request(
      { hostname, port, path, method: 'POST', headers: postHeaders(body, xrayCause), agent: postAgent },
      (response) => {
        response.resume()
        response.once('end', () => settle())
        response.once('error', () => settle())
      },
    )
    // The native client ignores a failed post too (REQUEST_NOT_MADE): the runtime goes on to /next.
    sent.once('error', () => settle())
    sent.end(body)
  })
}

/** The native client's argument checks (rapid-client.cc): the count first, then that all are strings. */
const checkArguments = (/** @type {unknown[]} */ values, /** @type {number} */ count) => {
  if (values.length < count) throw new TypeError(`Wrong number of arguments, expected ${count}`)
  if (!values.slice(0, count).every((value) => typeof value === 'string'))
    throw new TypeError('Wrong arguments')
}

/** @returns {null} */
export function done(/** @type {unknown[]} */ ...values) {
  checkArguments(values, 2)
  const [id, body] = /** @type {[string, string]} */ (values)
  post(`/2018-06-01/runtime/invocation/${id}/response`, body, '')
  return null
}

/** @returns {null} */
export function error(/** @type {unknown[]} */ ...values) {
  checkArguments(values, 3)
  const [id, body, xrayCause] = /** @type {[string, string, string]} */ (values)
  post(`/2018-06-01/runtime/invocation/${id}/error`, body, xrayCause)
  return null
}

const optionalHeaders = [
  'lambda-runtime-client-context',
  'lambda-runtime-cognito-identity',
  'lambda-runtime-aws-tenant-id',
]

/** @returns {Promise<{ bodyJson: string, headers: Record<string, string | number> }>} */
export async function next() {
  await lastPost
  const { hostname, port } = runtimeApiEndpoint()
  const failure = (/** @type {number} */ code) => new Error(`Failed to get next invocation, error ${code}`)
  return new Promise((resolve, reject) => {
    const get = request(
      {
        hostname,
        port,
        path: '/2018-06-01/runtime/invocation/next',
        headers: { 'User-Agent': userAgent },
        agent: nextAgent,
      },
      (response) => {
        /** @type {Buffer[]} */
        const chunks = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.once('error', () => reject(failure(-1)))
        response.once('end', () => {
          const status = response.statusCode ?? 0
          const header = (/** @type {string} */ name) => {
            const value = response.headers[name]
            return typeof value === 'string' ? value : ''
          }
          const requestId = header('lambda-runtime-aws-request-id')
          if (status < 200 || status > 299) return reject(failure(status))
          if (!requestId) return reject(failure(-1))
          /** @type {Record<string, string | number>} */
          const headers = {
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
    get.once('error', () => reject(failure(-1)))
    get.end()
  })
}
