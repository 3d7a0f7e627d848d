import { execFile } from 'node:child_process'
import { describe, expect, it } from '@jest/globals'

// tmp-store takes Node's built-ins with process.getBuiltinModule, which Node 22.0 to 22.2 lack
// (package.json: engines ^22.3.0). A real Node process without it (deleted before the import, after
// @thaw/util, which carries its own check) must fail the import with a message that names the Node
// needed, not with the TypeError of the first call.
describe('on a Node without process.getBuiltinModule', () => {
  it('importing the store fails with a message naming Node 22.3', async () => {
    const source = new URL('../src/index.ts', import.meta.url).href
    const script = `await import('@thaw/util'); delete process.getBuiltinModule; await import(${JSON.stringify(source)})`
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--conditions=@thaw/source', '--input-type=module', '-e', script],
        { cwd: new URL('..', import.meta.url).pathname, timeout: 30_000 },
        (error, _stdout, err) => (error ? resolve(err) : reject(new Error('the import succeeded'))),
      )
    })
    expect(stderr).toContain(
      `Error: @thaw/tmp-store needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
    )
    expect(stderr).not.toContain('is not a function')
  })
})
