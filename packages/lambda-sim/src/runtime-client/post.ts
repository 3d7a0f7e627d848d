// What the JavaScript Runtime API client's two halves share: the endpoint, the request a post is, and
// the headers aws-lambda-cpp 0.2.6 sends with one (runtime.cpp, do_post).

export interface PostRequest {
  path: string
  body: string
  // lambda-runtime-function-xray-error-cause; empty for an answer, where curl leaves the header out.
  xrayCause: string
}

// The poster's reply: the Runtime API's status, or why no request was made (the native client's
// REQUEST_NOT_MADE). Neither reaches the runtime: done and error return null either way.
export type PostReply = { status: number } | { failed: string }

// aws-lambda-cpp's User-Agent is "AWS_Lambda_Cpp/<version>"; this client says what it is.
export const userAgent = 'AWS_Lambda_JavaScript/thaw-lambda-sim'

export const runtimeApiEndpoint = (): { hostname: string; port: number } => {
  const endpoint = process.env.AWS_LAMBDA_RUNTIME_API ?? ''
  const colon = endpoint.lastIndexOf(':')
  return colon < 0
    ? { hostname: endpoint, port: 80 }
    : { hostname: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)) }
}

export const postHeaders = (post: PostRequest): Record<string, string | number> => ({
  'Content-Type': 'application/json',
  ...(post.xrayCause ? { 'Lambda-Runtime-Function-XRay-Error-Cause': post.xrayCause } : {}),
  'Content-Length': Buffer.byteLength(post.body),
  'User-Agent': userAgent,
})
