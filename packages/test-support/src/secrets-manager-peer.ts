import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  PeerError,
  SecretStore,
  type SecretValue,
  type SecretVersion,
  type StoredSecret,
} from './secret-store.ts'

// A local AWS Secrets Manager for tests: a real HTTP server on 127.0.0.1 speaking the service's
// JSON 1.1 protocol (POST /, X-Amz-Target: secretsmanager.<Operation>), so a real SecretsManagerClient
// talks to it through its whole stack (signing, retries, keep-alive sockets). It counts requests and
// TCP connections, and can drop idle keep-alive sockets on demand, as a load balancer would.
// Signatures are not verified; the access key id is recorded.

export interface SecretsManagerPeerOptions {
  // Used in ARNs (default 'us-east-1').
  region?: string
  // Used in ARNs (default '123456789012').
  accountId?: string
  // Secrets to create at start, by name (each gets one AWSCURRENT version).
  secrets?: Record<string, SecretValue>
  // Delay before each answer, in ms (default 0); can be changed later with `latencyMs`.
  latencyMs?: number
  // How long an idle keep-alive socket is kept open, in ms (default 60 000: long enough that only
  // closeIdleConnections() closes one during a test).
  idleTimeoutMs?: number
}

export interface SetSecretOptions {
  // Labels for the new version (default ['AWSCURRENT']); ['AWSPENDING'] stages a rotation.
  stages?: string[]
  // The version id (default a random UUID).
  versionId?: string
  description?: string
}

export interface SecretVersionInfo {
  name: string
  arn: string
  versionId: string
  stages: string[]
}

export interface PeerCall {
  // The operation, without its prefix: 'GetSecretValue', 'PutSecretValue', 'DescribeSecret', …
  target: string
  secretId: string | undefined
  versionId: string | undefined
  versionStage: string | undefined
  // From the request's SigV4 Authorization header.
  accessKeyId: string | undefined
  // Which TCP connection carried it (1 for the first connection the peer accepted).
  connection: number
  status: number
  // The error type answered, if any.
  errorType: string | undefined
}

export interface FailNextOptions {
  // Only calls to this operation fail (default: any).
  target?: string
  // HTTP status (default 400; 500 or 503 make the SDK retry).
  status?: number
  message?: string
  // How many calls fail (default 1).
  times?: number
  // How long the failing answer waits after the call took it, in ms (default 0): lets a test start
  // another call while this one is known to fail and has not answered yet.
  delayMs?: number
}

export interface SecretsManagerPeer {
  // 'http://127.0.0.1:<port>': the client's `endpoint`, or AWS_ENDPOINT_URL_SECRETS_MANAGER.
  readonly endpoint: string
  readonly port: number
  readonly region: string
  // Creates the secret if needed and adds a version (AWSCURRENT unless `stages` says otherwise).
  // A string is a SecretString, an object is stored as its JSON, bytes are a SecretBinary.
  setSecret(name: string, value: SecretValue, options?: SetSecretOptions): SecretVersionInfo
  // Moves a staging label to a version (as UpdateSecretVersionStage does), e.g. to finish a rotation.
  moveStage(name: string, stage: string, versionId: string): void
  deleteSecret(name: string): boolean
  // The secret's versions and their labels, or undefined.
  describe(name: string): SecretVersionInfo[] | undefined
  // Every request answered, in order.
  readonly calls: readonly PeerCall[]
  // How many requests were answered, of one operation or of all.
  callCount(target?: string): number
  // TCP connections accepted since start (or the last resetCounts()).
  readonly connections: number
  // TCP connections open now.
  readonly openConnections: number
  // Closes every connection with no request in progress (as a load balancer's idle timeout does);
  // returns how many it closed.
  closeIdleConnections(): number
  // The next call(s) answer with this error type.
  failNext(errorType: string, options?: FailNextOptions): void
  // Failures set by failNext and not yet taken by a call (a call takes its failure when it arrives,
  // after latencyMs).
  readonly pendingFailures: number
  latencyMs: number
  // Forgets recorded calls and counted connections (the secrets stay).
  resetCounts(): void
  close(): Promise<void>
}

interface PendingFailure {
  type: string
  target: string | undefined
  status: number
  message: string | undefined
  times: number
  delayMs: number
}

const jsonContentType = 'application/x-amz-json-1.1'
const targetPrefix = 'secretsmanager.'

const toEpochSeconds = (date: Date) => date.getTime() / 1000

const encodeValue = (value: SecretValue): { secretString?: string; secretBinary?: Buffer } => {
  if (typeof value === 'string') return { secretString: value }
  if (value instanceof Uint8Array) return { secretBinary: Buffer.from(value) }
  return { secretString: JSON.stringify(value) }
}

const versionInfo = (secret: StoredSecret, version: SecretVersion): SecretVersionInfo => ({
  name: secret.name,
  arn: secret.arn,
  versionId: version.versionId,
  stages: [...version.stages],
})

const stringField = (body: Record<string, unknown>, field: string): string | undefined => {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new PeerError('InvalidParameterException', `${field} must be a string`)
  return value
}

const requireSecretId = (body: Record<string, unknown>): string => {
  const secretId = stringField(body, 'SecretId')
  if (!secretId) throw new PeerError('InvalidParameterException', 'SecretId is required')
  return secretId
}

// The operations, each from a parsed JSON body to a JSON answer.
const operations = (store: SecretStore) => ({
  GetSecretValue: (body: Record<string, unknown>) => {
    const secret = store.get(requireSecretId(body))
    const version = store.resolveVersion(
      secret,
      stringField(body, 'VersionId'),
      stringField(body, 'VersionStage'),
    )
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined
        ? { SecretBinary: version.secretBinary.toString('base64') }
        : {}),
      VersionStages: [...version.stages],
      CreatedDate: toEpochSeconds(version.createdDate),
    }
  },
  PutSecretValue: (body: Record<string, unknown>) => {
    const secret = store.get(requireSecretId(body))
    const secretString = stringField(body, 'SecretString')
    const secretBinary = stringField(body, 'SecretBinary')
    if ((secretString === undefined) === (secretBinary === undefined)) {
      throw new PeerError(
        'InvalidParameterException',
        'You must provide either SecretString or SecretBinary.',
      )
    }
    const stages = body.VersionStages
    if (
      stages !== undefined &&
      !(Array.isArray(stages) && stages.every((stage) => typeof stage === 'string'))
    ) {
      throw new PeerError('InvalidParameterException', 'VersionStages must be a list of strings')
    }
    const version = store.putVersion(secret, {
      value: {
        secretString,
        secretBinary: secretBinary === undefined ? undefined : Buffer.from(secretBinary, 'base64'),
      },
      versionId: stringField(body, 'ClientRequestToken'),
      stages: stages as string[] | undefined,
    })
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      VersionStages: [...version.stages],
    }
  },
  DescribeSecret: (body: Record<string, unknown>) => {
    const secret = store.get(requireSecretId(body))
    const versionIdsToStages: Record<string, string[]> = {}
    for (const version of secret.versions.values()) {
      if (version.stages.size > 0) versionIdsToStages[version.versionId] = [...version.stages]
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      RotationEnabled: false,
      CreatedDate: toEpochSeconds(secret.createdDate),
      LastChangedDate: toEpochSeconds(secret.lastChangedDate),
      VersionIdsToStages: versionIdsToStages,
    }
  },
})

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const accessKeyIdOf = (request: IncomingMessage): string | undefined =>
  /Credential=([^/,\s]+)\//.exec(request.headers.authorization ?? '')?.[1]

export const startSecretsManagerPeer = async (
  options: SecretsManagerPeerOptions = {},
): Promise<SecretsManagerPeer> => {
  const region = options.region ?? 'us-east-1'
  const store = new SecretStore(region, options.accountId ?? '123456789012')
  const handlers = operations(store)
  const calls: PeerCall[] = []
  const failures: PendingFailure[] = []
  // Open sockets, each with its connection number and whether a request is in progress on it.
  const sockets = new Map<Socket, { id: number; busy: boolean }>()
  let connectionCount = 0

  const answer = (response: ServerResponse, status: number, body: unknown, errorType?: string) => {
    const headers: Record<string, string> = {
      'content-type': jsonContentType,
      'x-amzn-requestid': randomUUID(),
    }
    // The SDK reads an error's type from the body's __type, or from this header.
    if (errorType) headers['x-amzn-errortype'] = errorType
    response.writeHead(status, headers)
    response.end(JSON.stringify(body))
  }

  const takeFailure = (target: string) => {
    const index = failures.findIndex((failure) => failure.target === undefined || failure.target === target)
    if (index < 0) return undefined
    const failure = failures[index] as PendingFailure
    failure.times -= 1
    if (failure.times <= 0) failures.splice(index, 1)
    return {
      error: new PeerError(
        failure.type,
        failure.message ?? `${failure.type} (injected by the test peer)`,
        failure.status,
      ),
      delayMs: failure.delayMs,
    }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const socketState = sockets.get(request.socket)
    if (socketState) socketState.busy = true
    response.on('finish', () => {
      if (socketState) socketState.busy = false
    })
    const text = await readBody(request)
    const fullTarget = String(request.headers['x-amz-target'] ?? '')
    const target = fullTarget.startsWith(targetPrefix) ? fullTarget.slice(targetPrefix.length) : fullTarget
    let body: Record<string, unknown> = {}
    const call: PeerCall = {
      target,
      secretId: undefined,
      versionId: undefined,
      versionStage: undefined,
      accessKeyId: accessKeyIdOf(request),
      connection: socketState?.id ?? 0,
      status: 200,
      errorType: undefined,
    }
    try {
      if (request.method !== 'POST')
        throw new PeerError('UnknownOperationException', `${request.method} is not supported`)
      try {
        body = text ? JSON.parse(text) : {}
      } catch {
        throw new PeerError('SerializationException', 'The request body is not valid JSON')
      }
      call.secretId = typeof body.SecretId === 'string' ? body.SecretId : undefined
      call.versionId = typeof body.VersionId === 'string' ? body.VersionId : undefined
      call.versionStage = typeof body.VersionStage === 'string' ? body.VersionStage : undefined
      if (peer.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, peer.latencyMs))
      const injected = takeFailure(target)
      if (injected) {
        if (injected.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, injected.delayMs))
        throw injected.error
      }
      const operation = handlers[target as keyof typeof handlers]
      if (!operation)
        throw new PeerError('UnknownOperationException', `Unknown operation ${fullTarget || '(none)'}`)
      const result = operation(body)
      calls.push(call)
      answer(response, 200, result)
    } catch (error) {
      const peerError =
        error instanceof PeerError
          ? error
          : new PeerError('InternalServiceError', 'The test peer failed', 500)
      call.status = peerError.status
      call.errorType = peerError.type
      calls.push(call)
      answer(
        response,
        peerError.status,
        { __type: peerError.type, message: peerError.message },
        peerError.type,
      )
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response)
  })
  server.keepAliveTimeout = options.idleTimeoutMs ?? 60_000
  server.on('connection', (socket: Socket) => {
    connectionCount += 1
    sockets.set(socket, { id: connectionCount, busy: false })
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port

  const peer: SecretsManagerPeer = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region,
    latencyMs: options.latencyMs ?? 0,
    setSecret(name, value, setOptions = {}) {
      const secret = store.find(name) ?? store.create(name, setOptions.description)
      const version = store.putVersion(secret, {
        value: encodeValue(value),
        versionId: setOptions.versionId,
        stages: setOptions.stages,
      })
      return versionInfo(secret, version)
    },
    moveStage(name, stage, versionId) {
      const secret = store.get(name)
      const version = secret.versions.get(versionId)
      if (!version) throw new Error(`secret ${name} has no version ${versionId}`)
      store.moveStage(secret, stage, version)
    },
    deleteSecret: (name) => store.delete(name),
    describe(name) {
      const secret = store.find(name)
      return secret ? [...secret.versions.values()].map((version) => versionInfo(secret, version)) : undefined
    },
    calls,
    callCount: (target) =>
      target === undefined ? calls.length : calls.filter((call) => call.target === target).length,
    get connections() {
      return connectionCount
    },
    get openConnections() {
      return sockets.size
    },
    closeIdleConnections() {
      // Node's server.closeIdleConnections() does the same but does not say how many it closed.
      let closed = 0
      for (const [socket, state] of sockets) {
        if (state.busy) continue
        socket.destroy()
        closed += 1
      }
      return closed
    },
    failNext(type, failOptions = {}) {
      failures.push({
        type,
        target: failOptions.target,
        status: failOptions.status ?? 400,
        message: failOptions.message,
        times: failOptions.times ?? 1,
        delayMs: failOptions.delayMs ?? 0,
      })
    },
    get pendingFailures() {
      return failures.reduce((sum, failure) => sum + failure.times, 0)
    },
    resetCounts() {
      calls.length = 0
      connectionCount = 0
      for (const state of sockets.values()) state.id = 0
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  for (const [name, value] of Object.entries(options.secrets ?? {})) peer.setSecret(name, value)
  return peer
}
