// The options every driver shares, validated as a driver validates them: a table of a driver's own
// config (configOption, here with URLs of a made-up `demo://` protocol) beside db-core's rows, then
// checkCredentials. Each refusal is a TypeError naming the driver's package and the option path, and
// never showing a password.

import { fc, test } from '@fast-check/jest'
import { describe, expect, it } from '@jest/globals'
import { option, validateOptionTable } from '@thaw/util'
import {
  checkCredentials,
  configOption,
  configUrl,
  configurationLabel,
  connectRetryTable,
  credentialRows,
  defaultsBesideCredentials,
  invocationRows,
} from '../src/index.ts'

const packageName = '@thaw/demo-driver'
const password = 'Sup3r-s3cret-pw'

interface DemoConfig {
  host?: string
  user?: string
  password?: string
  ssl?: boolean
}
const checked: Record<string, unknown>[] = []
const configRule = configOption<DemoConfig>(
  'a demo:// URL or a demo config object',
  (text) => {
    const url = configUrl(packageName, text, {
      kind: 'URL',
      example: 'a URL such as demo://user:password@host/',
      protocols: ['demo', 'demo2'],
    })
    return { host: url.hostname, user: url.username, password: url.password }
  },
  (config) => {
    checked.push(config)
    config.checked = true
  },
)
const table = {
  config: configRule,
  ...invocationRows,
  ...credentialRows,
  connectRetry: option.nested(connectRetryTable),
}

// What a driver's validateOptions does: the table, then the rules that span options.
const validate = (options: Record<string, unknown>) => {
  const settings = validateOptionTable(packageName, table, options)
  return checkCredentials(packageName, settings, settings.config ?? {}, {
    configExpected: configRule.expected,
    tlsExample: 'ssl: true',
  })
}

// The refusal `run` throws: a TypeError whose cause names the package and the option.
const refusal = (run: () => unknown): { message: string; option: string } => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    const { message, cause } = error as TypeError & { cause: { package: string; option: string } }
    expect(message.startsWith(`${packageName}: `)).toBe(true)
    expect(cause.package).toBe(packageName)
    expect(message).not.toContain(password)
    return { message, option: cause.option }
  }
  throw new Error('expected a refusal, got none')
}

describe('config', () => {
  it('is read from a URL of the driver and checked by the driver', () => {
    const settings = validateOptionTable(packageName, table, { config: `demo2://app:${password}@db.local/` })
    expect(settings.config).toEqual({ host: 'db.local', user: 'app', password, checked: true })
  })

  it('is copied from an object, so the caller never sees what the driver adds', () => {
    const given = { host: 'db.local', user: 'app' }
    const settings = validateOptionTable(packageName, table, { config: given })
    expect(settings.config).toEqual({ host: 'db.local', user: 'app', checked: true })
    expect(given).toEqual({ host: 'db.local', user: 'app' })
    expect(checked.at(-1)).toBe(settings.config)
  })

  it.each([
    [
      `not a url ${password}`,
      /option 'config' must be a URL such as demo:\/\/user:password@host\/, got a string/,
    ],
    [
      `mysql://app:${password}@db/`,
      /option 'config' must be a demo:\/\/ \(or demo2:\/\/\) URL, got the protocol 'mysql:'/,
    ],
  ])('refuses %j without showing it', (config, expected) => {
    const { message, option: path } = refusal(() => validate({ config }))
    expect(message).toMatch(expected)
    expect(path).toBe('config')
  })

  it('refuses what is neither a string nor an object, naming the option', () => {
    const { message } = refusal(() => validate({ config: [password] }))
    expect(message).toMatch(/option 'config' must be a demo:\/\/ URL or a demo config object, got an array/)
  })

  it('is required when no other source gives the credentials', () => {
    const { message, option: path } = refusal(() => validate({}))
    expect(message).toBe(`${packageName}: option 'config' is required: a demo:// URL or a demo config object`)
    expect(path).toBe('config')
    expect(validate({ secret: { secretId: 'app/db' } })).toEqual({
      secret: expect.objectContaining({ secretId: 'app/db' }),
    })
  })
})

describe('credentials come from one place', () => {
  const sources = {
    secret: { secretId: 'app/db' },
    internalData: { password: 'db.password' },
    iam: { region: 'eu-west-1' },
  }
  const config = { host: 'db.local', user: 'app', ssl: true }

  test.prop([fc.subarray(['secret', 'internalData', 'iam'] as const)])(
    'two sources or more are refused, naming the second; one is kept alone',
    (names) => {
      const options = { config, ...Object.fromEntries(names.map((name) => [name, sources[name]])) }
      if (names.length > 1) {
        const { message, option: path } = refusal(() => validate(options))
        expect(path).toBe(names[1])
        expect(message).toContain(
          `options ${names.map((name) => `'${name}'`).join(' and ')} exclude each other`,
        )
      } else {
        expect(Object.keys(validate(options))).toEqual(names)
      }
    },
  )

  it.each(['secret', 'internalData', 'iam'] as const)(
    "refuses connect: 'init' with %s: credentials are resolved in the handler",
    (name) => {
      const { message, option: path } = refusal(() =>
        validate({ config, [name]: sources[name], connect: 'init' }),
      )
      expect(path).toBe('connect')
      expect(message).toContain(`option 'connect' must be 'first-use' with '${name}'`)
    },
  )

  it('keeps only the request.internal keys given', () => {
    const { internalData } = validate({ internalData: { password: 'db.password', user: 'db.user' } })
    // The settings of the nested table hold every key, the left-out ones undefined: they are dropped.
    expect(Object.keys(internalData ?? {}).sort()).toEqual(['password', 'user'])
    expect(internalData).toEqual({ password: 'db.password', user: 'db.user' })
  })
})

describe('iam', () => {
  const iam = { region: 'eu-west-1' }

  it('takes the user and host from the config or from iam', () => {
    expect(validate({ config: { host: 'db', user: 'app', ssl: true }, iam })).toEqual({ iam })
    const own = { ...iam, username: 'app', hostname: 'db' }
    expect(validate({ config: { ssl: true }, iam: own })).toEqual({ iam: own })
  })

  it.each([
    ['no user', { host: 'db', ssl: true }, iam, 'iam.username'],
    ['no host', { user: 'app', ssl: true }, iam, 'iam.hostname'],
    ['a password of its own', { host: 'db', user: 'app', ssl: true, password }, iam, 'config.password'],
    ['no TLS', { host: 'db', user: 'app' }, iam, 'config.ssl'],
  ])('refuses %s', (_, config, given, path) => {
    expect(refusal(() => validate({ config, iam: given })).option).toBe(path)
  })

  it('says how the driver turns TLS on when it is off', () => {
    const { message } = refusal(() => validate({ config: { host: 'db', user: 'app' }, iam }))
    expect(message).toContain('so TLS must be on (e.g. ssl: true)')
  })

  it('needs a region from iam or AWS_REGION, unless it signs its own tokens', () => {
    const saved = process.env.AWS_REGION
    delete process.env.AWS_REGION
    try {
      const config = { host: 'db', user: 'app', ssl: true }
      expect(refusal(() => validate({ config, iam: {} })).option).toBe('iam.region')
      const getAuthToken = () => 'token'
      expect(validate({ config, iam: { getAuthToken } })).toEqual({ iam: { getAuthToken } })
      process.env.AWS_REGION = 'eu-west-1'
      expect(validate({ config, iam: {} })).toEqual({ iam: {} })
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION
      else process.env.AWS_REGION = saved
    }
  })
})

describe('the shared rows', () => {
  it('default the same for every driver that holds them, credentials aside', () => {
    const defaults = defaultsBesideCredentials(table)
    for (const name of ['config', 'secret', 'internalData', 'iam']) expect(defaults).not.toHaveProperty(name)
    const settings = validateOptionTable(packageName, table, { config: {} })
    const { config: _c, secret: _s, internalData: _i, iam: _a, ...rest } = settings
    expect(rest).toEqual(defaults)
  })

  it('refuse a context key that would replace the Lambda context’s own member', () => {
    expect(refusal(() => validate({ config: {}, contextKey: 'getRemainingTimeInMillis' })).option).toBe(
      'contextKey',
    )
  })
})

describe('configurationLabel', () => {
  it('names the secret a configuration reads, never what it holds', () => {
    const credentials = validate({ secret: { secretId: 'app/db' } })
    expect(configurationLabel('app@db:5432/orders', credentials)).toBe('app@db:5432/orders (secret app/db)')
    expect(configurationLabel('app@db:5432/orders', {})).toBe('app@db:5432/orders')
  })
})
