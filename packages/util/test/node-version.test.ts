import { describe, expect, it } from '@jest/globals'
import { importWithoutGetBuiltinModule } from '@thaw/test-support'

// @thaw/util takes Node's built-ins with process.getBuiltinModule, which Node 22.0 to 22.2 lack
// (engines: ^22.3.0). Imported there, it fails with a message that names the Node needed, not with
// the TypeError of the first call.
describe('on a Node without process.getBuiltinModule', () => {
  it('importing it fails with a message naming Node 22.3', async () => {
    expect(await importWithoutGetBuiltinModule(new URL('../src/index.ts', import.meta.url))).toBe(
      `Error: @thaw/util needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
    )
  })
})
