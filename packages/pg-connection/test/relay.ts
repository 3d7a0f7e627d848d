// A TCP relay in front of the server, to do to connections what a real server does not on demand:
// black-hole the open ones (bytes stop both ways, no FIN: a middlebox that forgot them), or accept
// new ones and never forward them (a cancel request that never arrives).
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

export interface Relay {
  port: number
  // Stops forwarding on every connection open now.
  holeOpenConnections(): void
  // From now on, new connections are accepted and nothing they send is forwarded.
  holeNewConnections: boolean
  close(): Promise<void>
}

export const startRelay = async (target: { host: string; port: number }): Promise<Relay> => {
  const pairs = new Set<{ client: Socket; upstream: Socket; holed: boolean }>()
  const relay: Relay = {
    port: 0,
    holeNewConnections: false,
    holeOpenConnections() {
      for (const pair of pairs) pair.holed = true
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(target)
    const pair = { client, upstream, holed: relay.holeNewConnections }
    pairs.add(pair)
    client.on('data', (data) => {
      if (!pair.holed) upstream.write(data)
    })
    upstream.on('data', (data) => {
      if (!pair.holed) client.write(data)
    })
    const close = () => {
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  relay.port = (server.address() as { port: number }).port
  return relay
}
