// The Lambda Runtime API and the part of the Extensions API that shutdown needs, served over HTTP on
// 127.0.0.1 for one runtime process (AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>). Paths and headers as in
// Lambda's "Using the Lambda runtime API for custom runtimes" and "Lambda Extensions API" pages, and as
// aws-lambda-ric 4.0.2 (its native client, aws-lambda-cpp) calls them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { maxResponseBytes, responseTooLargeMessage } from './limits.ts'

export interface ReceivedBody {
  // The body, unless it was larger than the limit (then only counted).
  text: string | undefined
  bytes: number
}

export interface RuntimeApiHandlers {
  next: (response: ServerResponse) => void
  response: (requestId: string, body: ReceivedBody, socket: Socket) => void
  error: (requestId: string, body: ReceivedBody, errorType: string | undefined, socket: Socket) => void
  initError: (body: ReceivedBody, errorType: string | undefined) => void
  registerExtension: (name: string, events: string[]) => { id: string } | { refused: string }
  extensionNext: (id: string, response: ServerResponse) => boolean
}

const readBody = (request: IncomingMessage, limit: number): Promise<ReceivedBody> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      // Past the limit the body is counted, not kept: a 20 MiB answer costs the simulator nothing.
      if (bytes <= limit) chunks.push(chunk)
      else chunks.length = 0
    })
    request.once('end', () =>
      resolve({ text: bytes <= limit ? Buffer.concat(chunks).toString('utf8') : undefined, bytes }),
    )
    request.once('error', reject)
  })

const answerJson = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  })
  response.end(text)
}

const invocationPath = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/

export const startRuntimeApi = async (
  handlers: RuntimeApiHandlers,
): Promise<{ server: Server; address: string }> => {
  const server = createServer(async (request, response) => {
    const url = request.url ?? ''
    try {
      if (request.method === 'GET' && url === '/2018-06-01/runtime/invocation/next')
        return handlers.next(response)
      const invocation = invocationPath.exec(url)
      if (request.method === 'POST' && invocation) {
        const requestId = decodeURIComponent(invocation[1] as string)
        const body = await readBody(request, maxResponseBytes)
        if (invocation[2] === 'response') {
          handlers.response(requestId, body, request.socket)
          if (body.text === undefined)
            return answerJson(response, 413, {
              errorMessage: responseTooLargeMessage,
              errorType: 'Function.ResponseSizeTooLarge',
            })
        } else {
          const errorType = request.headers['lambda-runtime-function-error-type']
          handlers.error(
            requestId,
            body,
            typeof errorType === 'string' ? errorType : undefined,
            request.socket,
          )
        }
        return answerJson(response, 202, { status: 'OK' })
      }
      if (request.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
        const body = await readBody(request, maxResponseBytes)
        const errorType = request.headers['lambda-runtime-function-error-type']
        handlers.initError(body, typeof errorType === 'string' ? errorType : undefined)
        return answerJson(response, 202, { status: 'OK' })
      }
      if (request.method === 'POST' && url === '/2020-01-01/extension/register') {
        const name = request.headers['lambda-extension-name']
        const body = await readBody(request, 64 * 1024)
        let events: string[] = []
        try {
          events = (JSON.parse(body.text ?? '{}') as { events?: string[] }).events ?? []
        } catch {
          // An unreadable body registers for nothing.
        }
        const outcome =
          typeof name === 'string' && name.length > 0
            ? handlers.registerExtension(name, events)
            : { refused: 'missing Lambda-Extension-Name header' }
        if ('refused' in outcome)
          return answerJson(response, 403, {
            errorMessage: outcome.refused,
            errorType: 'Extension.InvalidRegistration',
          })
        return answerJson(response, 200, {}, { 'Lambda-Extension-Identifier': outcome.id })
      }
      if (request.method === 'GET' && url === '/2020-01-01/extension/event/next') {
        const id = request.headers['lambda-extension-identifier']
        if (typeof id === 'string' && handlers.extensionNext(id, response)) return
        return answerJson(response, 403, {
          errorMessage: 'unknown extension',
          errorType: 'Extension.UnknownExtensionIdentifier',
        })
      }
      answerJson(response, 404, {
        errorMessage: `no such path: ${request.method} ${url}`,
        errorType: 'InvalidRequest',
      })
    } catch (error) {
      if (!response.headersSent)
        answerJson(response, 500, { errorMessage: String(error), errorType: 'ServiceException' })
    }
  })
  // A /next may wait for hours while the environment is frozen or idle: no request or keep-alive timeout.
  server.requestTimeout = 0
  server.headersTimeout = 0
  server.keepAliveTimeout = 0
  server.timeout = 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return { server, address: `127.0.0.1:${port}` }
}
