// Type tests (tstyche): the options and settings types a table gives, as OptionsOf's and SettingsOf's
// JSDoc examples say. Run with `pnpm typetest`.
import { type OptionsOf, option, type SettingsOf } from '@thaw/util'
import { describe, expect, test } from 'tstyche'

const table = {
  contextKey: option.string('a non-empty string', 'db'),
  timeoutMs: option.duration(1, 1000),
  logger: option.function<(line: string) => void>(),
}

describe('OptionsOf', () => {
  test('makes every option optional, typed by its rule', () => {
    expect<OptionsOf<typeof table>>().type.toBe<{
      contextKey?: string
      timeoutMs?: number
      logger?: (line: string) => void
    }>()
  })
})

describe('SettingsOf', () => {
  test('has every option, defaults applied; one without a default may be undefined', () => {
    expect<SettingsOf<typeof table>>().type.toBe<{
      readonly contextKey: string
      readonly timeoutMs: number
      readonly logger: ((line: string) => void) | undefined
    }>()
  })
})
