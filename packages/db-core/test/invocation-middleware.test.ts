// The hooks every database middleware shares, in a real Middy chain: the session goes on the context
// under its key, a session whose after never ran (an early response) is finished before the next
// invocation's starts, Middy's early timeout reaches finish as `timedOut`, and the hooks carry the
// driver's names.
import { describe, expect, it } from '@jest/globals'
import middy, { type MiddlewareObj } from '@middy/core'
import { invocationHooks } from '../src/index.ts'

const names = {
  before: 'fakeMiddlewareBefore',
  after: 'fakeMiddlewareAfter',
  onError: 'fakeMiddlewareOnError',
}

// A session that records what happened to it, in the order it happened.
const recorder = () => {
  const events: string[] = []
  const live = new Set<{ id: number; finish(timedOut?: boolean): undefined }>()
  let next = 0
  const open = () => {
    const session = {
      id: ++next,
      finish(timedOut?: boolean) {
        live.delete(session)
        events.push(`finish ${session.id}${timedOut ? ' timed out' : ''}`)
        return undefined
      },
    }
    live.add(session)
    events.push(`open ${session.id}`)
    return session
  }
  const finishOverdue = () => {
    if (live.size === 0) return undefined
    return Promise.resolve().then(() => {
      for (const session of [...live]) session.finish()
    })
  }
  return { events, open, finishOverdue }
}

const context = (remainingMs = 60_000) =>
  ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as import('aws-lambda').Context

describe('invocationHooks', () => {
  it('puts the session on the context under its key and finishes it after the handler', async () => {
    const { events, open, finishOverdue } = recorder()
    const handler = middy()
      .use(invocationHooks(names, 'orders', open, finishOverdue) as unknown as MiddlewareObj)
      .handler(async (_event, lambdaContext) => {
        events.push(`handler sees ${(lambdaContext as unknown as { orders: { id: number } }).orders.id}`)
        return 'ok'
      })
    await expect(handler({}, context())).resolves.toBe('ok')
    expect(events).toEqual(['open 1', 'handler sees 1', 'finish 1'])
  })

  it("finishes a session whose after was skipped by an early response before the next one's opens", async () => {
    const { events, open, finishOverdue } = recorder()
    const early = { before: () => 'cached' }
    const handler = middy()
      .use(invocationHooks(names, 'db', open, finishOverdue) as unknown as MiddlewareObj)
      .use(early)
      .handler(async () => 'from the handler')
    await expect(handler({}, context())).resolves.toBe('cached')
    await expect(handler({}, context())).resolves.toBe('cached')
    expect(events).toEqual(['open 1', 'finish 1', 'open 2'])
  })

  it("passes Middy's early timeout to finish as timedOut, and any other error as not", async () => {
    const { events, open, finishOverdue } = recorder()
    const failing = middy({ timeoutEarlyInMillis: 50 })
      .use(invocationHooks(names, 'db', open, finishOverdue) as unknown as MiddlewareObj)
      .handler(async (event) => {
        if ((event as { hang: boolean }).hang) await new Promise(() => {})
        throw new Error('the handler failed')
      })
    await expect(failing({ hang: false }, context())).rejects.toThrow('the handler failed')
    await expect(failing({ hang: true }, context(100))).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(events).toEqual(['open 1', 'finish 1', 'open 2', 'finish 2 timed out'])
  })

  it.each([
    ['null', () => null],
    ['undefined', () => undefined],
    ['a string', () => 'plain text'],
    [
      'an object whose name getter throws',
      () => ({
        get name(): string {
          throw new Error('a getter that throws')
        },
      }),
    ],
    [
      'a revoked proxy',
      () => {
        const { proxy, revoke } = Proxy.revocable({}, {})
        revoke()
        return proxy
      },
    ],
  ])(
    'finishes the session when the handler throws %s, and the caller gets what was thrown',
    async (_what, odd) => {
      const { events, open, finishOverdue } = recorder()
      const thrown = odd()
      const handler = middy()
        .use(invocationHooks(names, 'db', open, finishOverdue) as unknown as MiddlewareObj)
        .handler(async () => {
          throw thrown
        })
      // Wrapped: a promise resolved with a revoked proxy would look for its `then` and throw.
      const caught = await handler({}, context()).then(
        () => undefined,
        (error: unknown) => ({ error }),
      )
      // The very value thrown, compared by identity: a revoked proxy cannot even be looked at.
      expect(caught !== undefined && caught.error === thrown).toBe(true)
      expect(events).toEqual(['open 1', 'finish 1'])
    },
  )

  it("carries the driver's names, which Middy's timing hooks and stack traces show", () => {
    const hooks = invocationHooks(names, 'db', recorder().open, () => undefined)
    expect([hooks.before.name, hooks.after.name, hooks.onError.name]).toEqual([
      'fakeMiddlewareBefore',
      'fakeMiddlewareAfter',
      'fakeMiddlewareOnError',
    ])
  })
})
