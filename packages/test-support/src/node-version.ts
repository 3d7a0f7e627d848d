import { execFile } from 'node:child_process'

// What a package does on a Node whose `engines` it refuses: Node 22.0 to 22.2 lack
// process.getBuiltinModule, which thaw's packages take their built-ins with. A real Node process
// imports `before` (already-checked packages, so that their own check does not answer first), deletes
// process.getBuiltinModule and imports `module`; resolves with the error the import failed with, as
// Node prints it (`Error: message`), and rejects if the import succeeded.
export const importWithoutGetBuiltinModule = (
  module: URL,
  before: readonly string[] = [],
): Promise<string> => {
  const script = [
    ...before.map((each) => `await import(${JSON.stringify(each)})`),
    'delete process.getBuiltinModule',
    `await import(${JSON.stringify(module.href)})`,
  ].join('; ')
  return new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@thaw/source', '--input-type=module', '-e', script],
      { cwd: new URL('.', module).pathname, timeout: 30_000 },
      (error, _stdout, stderr) =>
        error
          ? resolve(/^\w*Error: .*$/m.exec(stderr)?.[0] ?? stderr)
          : reject(new Error(`importing ${module.pathname} succeeded without it`)),
    )
  })
}
