// Every bad value of every option is refused when the middleware is built, by a TypeError that names
// the option's path (generated: @thaw/test-support's hostile values for each kind of option).
import { describe, it } from '@jest/globals'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption } from '@thaw/test-support'
import { lambdaContextMembers, maxTimerMs } from '@thaw/util'
import fc from 'fast-check'
import tmpStore, { packageName, tmpStoreOptionTable } from '../src/index.ts'
import { scratchDir } from './helpers.ts'

describe('bad options', () => {
  it('are refused at construction, each naming its option (by generators)', () => {
    assertBadOptionsRefused(
      {
        packageName,
        construct: (options) => tmpStore(options as never),
        valid: { dir: scratchDir('refused') },
      },
      [
        badOption('dir', badValues.string()),
        badOption('dir', fc.constantFrom('relative/dir', './tmp', 'tmp', '~/tmp')),
        badOption('maxBytes', badValues.integer(1, Number.MAX_SAFE_INTEGER)),
        // The mistakes that passed construction once, every run.
        badOption('contextKey', fc.constantFrom('__proto__', 'constructor', 'getRemainingTimeInMillis')),
        badOption('contextKey', badValues.propertyKey(lambdaContextMembers)),
        badOption('checksum', badValues.boolean()),
        badOption('fsync', badValues.boolean()),
        badOption('lockStaleMs', badValues.integer(100, maxTimerMs)),
        badOption('lockWaitMs', badValues.integer(1, maxTimerMs)),
        misspeltOption('', Object.keys(tmpStoreOptionTable)),
      ],
    )
  }, 120_000)
})
