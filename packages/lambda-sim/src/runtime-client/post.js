// What the JavaScript Runtime API client sends: the endpoint, and the headers aws-lambda-cpp 0.2.6
// sends with a post (runtime.cpp, do_post), bar curl's own.
//
// The files of src/runtime-client run inside the runtime and are JavaScript, not TypeScript: in this
// package's sources Node would strip their types with amaro (a WebAssembly build of swc), loaded into
// every runtime only for them.

// aws-lambda-cpp's User-Agent is "AWS_Lambda_Cpp/<version>"; this client says what it is.
export const userAgent = 'AWS_Lambda_JavaScript/thaw-lambda-sim'

/** @returns {{ hostname: string, port: number }} AWS_LAMBDA_RUNTIME_API's host and port. */
export const runtimeApiEndpoint = () => {
  const endpoint = process.env.AWS_LAMBDA_RUNTIME_API ?? ''
  const colon = endpoint.lastIndexOf(':')
  return colon < 0
    ? { hostname: endpoint, port: 80 }
    : { hostname: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)) }
}

/**
 * lambda-runtime-function-xray-error-cause goes with an error; with an answer its value is empty, and
 * curl leaves a header with an empty value out. The cause holds the error's message, whose UTF-8 bytes
 * curl sends as they are; node:http writes a header's string as Latin-1 and throws ERR_INVALID_CHAR on
 * a character above U+00FF (an error message with `…` crashed the runtime), so the value is handed to
 * it as the Latin-1 string of those same bytes (Node 24.21).
 * @param {string} body
 * @param {string} xrayCause
 */
export const postHeaders = (body, xrayCause) => ({
  'Content-Type': 'application/json',
  ...(xrayCause
    ? { 'Lambda-Runtime-Function-XRay-Error-Cause': Buffer.from(xrayCause, 'utf8').toString('latin1') }
    : {}),
  'Content-Length': Buffer.byteLength(body),
  'User-Agent': userAgent,
})
