import { randomBytes, randomUUID } from 'node:crypto'

// The secrets of a local Secrets Manager peer, with versions and staging labels as the service keeps
// them: each version has a set of labels, a label is on at most one version, and moving AWSCURRENT
// to a new version moves AWSPREVIOUS to the version that had AWSCURRENT.

export type SecretValue = string | Uint8Array | Record<string, unknown>

export interface SecretVersion {
  versionId: string
  secretString: string | undefined
  secretBinary: Buffer | undefined
  createdDate: Date
  stages: Set<string>
}

export interface StoredSecret {
  name: string
  arn: string
  description: string | undefined
  createdDate: Date
  lastChangedDate: Date
  versions: Map<string, SecretVersion>
}

// An error the peer answers with (400 unless said otherwise), in the service's own names.
export class PeerError extends Error {
  readonly type: string
  readonly status: number
  constructor(type: string, message: string, status = 400) {
    super(message)
    this.type = type
    this.status = status
  }
}

export const CURRENT = 'AWSCURRENT'
export const PREVIOUS = 'AWSPREVIOUS'

// The service appends six random characters to a secret's name in its ARN.
const arnSuffix = () => randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6)

export interface PutVersionInput {
  value: { secretString?: string | undefined; secretBinary?: Buffer | undefined }
  versionId?: string | undefined
  stages?: readonly string[] | undefined
}

export class SecretStore {
  readonly #secrets = new Map<string, StoredSecret>()
  readonly #region: string
  readonly #accountId: string

  constructor(region: string, accountId: string) {
    this.#region = region
    this.#accountId = accountId
  }

  create(name: string, description?: string): StoredSecret {
    const now = new Date()
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${arnSuffix()}`,
      description,
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
    }
    this.#secrets.set(name, secret)
    return secret
  }

  delete(name: string): boolean {
    return this.#secrets.delete(name)
  }

  // By name or by full ARN, as SecretId may be either.
  find(secretId: string): StoredSecret | undefined {
    const byName = this.#secrets.get(secretId)
    if (byName) return byName
    for (const secret of this.#secrets.values()) if (secret.arn === secretId) return secret
    return undefined
  }

  get(secretId: string): StoredSecret {
    const secret = this.find(secretId)
    if (!secret)
      throw new PeerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")
    return secret
  }

  putVersion(secret: StoredSecret, input: PutVersionInput): SecretVersion {
    const versionId = input.versionId ?? randomUUID()
    const existing = secret.versions.get(versionId)
    if (existing) {
      // Retrying a put with the same token and value is idempotent; another value is refused.
      const same =
        existing.secretString === input.value.secretString &&
        (existing.secretBinary?.equals(input.value.secretBinary ?? Buffer.alloc(0)) ??
          !input.value.secretBinary)
      if (same) return existing
      throw new PeerError('ResourceExistsException', `A resource with the ID you requested already exists.`)
    }
    const version: SecretVersion = {
      versionId,
      secretString: input.value.secretString,
      secretBinary: input.value.secretBinary,
      createdDate: new Date(),
      stages: new Set(),
    }
    secret.versions.set(versionId, version)
    for (const stage of input.stages ?? [CURRENT]) this.moveStage(secret, stage, version)
    secret.lastChangedDate = version.createdDate
    return version
  }

  moveStage(secret: StoredSecret, stage: string, target: SecretVersion): void {
    const holder = this.versionByStage(secret, stage)
    if (holder === target) return
    holder?.stages.delete(stage)
    target.stages.add(stage)
    if (stage === CURRENT && holder) {
      this.versionByStage(secret, PREVIOUS)?.stages.delete(PREVIOUS)
      holder.stages.add(PREVIOUS)
    }
  }

  versionByStage(secret: StoredSecret, stage: string): SecretVersion | undefined {
    for (const version of secret.versions.values()) if (version.stages.has(stage)) return version
    return undefined
  }

  // GetSecretValue's choice of version: by id, by label, or AWSCURRENT.
  resolveVersion(secret: StoredSecret, versionId?: string, versionStage?: string): SecretVersion {
    const version = versionId
      ? secret.versions.get(versionId)
      : this.versionByStage(secret, versionStage ?? CURRENT)
    if (!version || (versionStage !== undefined && !version.stages.has(versionStage))) {
      const which = versionId ? `VersionId: ${versionId}` : `staging label: ${versionStage ?? CURRENT}`
      throw new PeerError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for ${which}`,
      )
    }
    return version
  }
}
