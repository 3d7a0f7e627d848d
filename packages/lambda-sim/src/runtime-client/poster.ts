// The worker thread that posts for ./rapid-client.ts: one request at a time, on one keep-alive
// connection, each reply written back before the calling thread is woken.
import { Agent, request } from 'node:http'
import { type MessagePort, workerData } from 'node:worker_threads'
import { type PostReply, type PostRequest, postHeaders } from './post.ts'

const { signal, port, endpoint } = workerData as {
  signal: Int32Array
  port: MessagePort
  endpoint: { hostname: string; port: number }
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

const answer = (reply: PostReply) => {
  port.postMessage(reply)
  Atomics.add(signal, 0, 1)
  Atomics.notify(signal, 0)
}

process.once('exit', () => {
  Atomics.store(signal, 1, 1)
  Atomics.notify(signal, 0)
})

port.on('message', (post: PostRequest) => {
  try {
    const sent = request(
      { ...endpoint, path: post.path, method: 'POST', headers: postHeaders(post), agent },
      (response) => {
        response.resume()
        response.once('end', () => answer({ status: response.statusCode ?? 0 }))
        response.once('error', (error) => answer({ failed: error.message }))
      },
    )
    sent.once('error', (error) => answer({ failed: error.message }))
    sent.end(post.body)
  } catch (error) {
    answer({ failed: (error as Error).message })
  }
})

Atomics.store(signal, 2, 1)
Atomics.notify(signal, 2)
