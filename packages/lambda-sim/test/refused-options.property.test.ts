// Every bad value of every option is refused by lambdaSimValidateOptions, the check startEnvironment
// runs before it starts anything, by a TypeError that names the option's path (generated:
// @thaw/test-support's hostile values for each kind of option): a preload in NODE_OPTIONS, the
// variables the runtime's wiring is built on, a tmpDir holding the simulator's own files, Lambda's
// limits, misspelt names.
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { describe, it } from '@jest/globals'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption } from '@thaw/test-support'
import { maxTimerMs } from '@thaw/util'
import fc from 'fast-check'
import { lambdaSimOptionTable, lambdaSimValidateOptions, packageName } from '../src/index.ts'
import { wiringVariables } from '../src/lambda-variables.ts'
import { logBytesPerInvocation, memoryMb, timeoutMs } from '../src/limits.ts'
import { fixture } from './helpers.ts'

const entry = fixture('counter')
const preloads = [
  '--require /opt/x.js',
  '-r x',
  '--import=x.mjs',
  '--loader ./l.mjs',
  '--experimental-loader=l.mjs',
]

describe('bad options', () => {
  it('are refused before anything starts, each naming its option (by generators)', () => {
    assertBadOptionsRefused({ packageName, construct: lambdaSimValidateOptions, valid: { entry } }, [
      // The mistakes that passed construction once, every run.
      badOption('env.NODE_OPTIONS', fc.constant('--require /opt/wrapper.js')),
      badOption('tmpDir', fc.constant('/')),
      badOption(
        'entry',
        fc.oneof(badValues.string(), fc.constantFrom('/no/such/handler.ts', dirname(entry), 'counter.ts')),
      ),
      badOption(
        'exportName',
        fc.oneof(badValues.string(), fc.constantFrom('1st', 'a-b', 'a..b', 'handler()', '.handler')),
      ),
      badOption('timeoutMs', badValues.integer(timeoutMs.minimum, timeoutMs.maximum)),
      badOption('memoryMb', badValues.integer(memoryMb.minimum, memoryMb.maximum)),
      badOption('env', badValues.object()),
      badOption('env', fc.constantFrom({ A: 1 }, { A: null }, { A: ['x'] })),
      badOption('env.NODE_OPTIONS', fc.constantFrom(...preloads)),
      badOption(
        'env.NODE_OPTIONS',
        fc.constantFrom(...preloads).map((preload) => `--enable-source-maps ${preload}`),
      ),
      ...Object.keys(wiringVariables).map((name) => badOption(`env.${name}`, fc.constantFrom('x', ''))),
      badOption(
        'tmpDir',
        fc.oneof(badValues.string(), fc.constantFrom('/', tmpdir(), dirname(tmpdir()), 'relative', entry)),
      ),
      ...['freeze', 'noOpExtension', 'echoOutput', 'prebuilt'].map((name) =>
        badOption(name, badValues.boolean()),
      ),
      badOption('functionName', badValues.string()),
      badOption('region', badValues.string()),
      badOption('workers', badValues.integer(1, 64)),
      badOption('concurrency', badValues.integer(1, 1_024), { workers: 2 }),
      badOption('concurrency', fc.integer({ min: 1, max: 1_024 })),
      badOption('initTimeoutMs', badValues.integer(1, maxTimerMs)),
      badOption('shutdownGraceMs', badValues.integer(0, maxTimerMs)),
      badOption(
        'maxLogBytesPerInvocation',
        badValues.integer(logBytesPerInvocation.minimum, logBytesPerInvocation.maximum),
      ),
      badOption('build', badValues.object()),
      badOption('build.conditions', fc.constantFrom('node', [''], [1], {}, null)),
      badOption('build.minify', badValues.boolean()),
      misspeltOption('build', ['conditions', 'external', 'minify']),
      badOption('runtimeClient', badValues.oneOf(['javascript', 'native'])),
      misspeltOption('', Object.keys(lambdaSimOptionTable)),
    ])
  }, 120_000)
})
