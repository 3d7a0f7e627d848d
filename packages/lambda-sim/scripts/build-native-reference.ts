// `pnpm --filter @thaw/lambda-sim build:native-reference`: builds aws-lambda-ric's native Runtime API
// client (rapid-client.node), the reference the JavaScript client is compared with
// (test/runtime-clients.test.ts). The workspace never builds it at install (pnpm-workspace.yaml,
// allowBuilds: aws-lambda-ric: false); this runs aws-lambda-ric 4.0.2's own install scripts, as an
// allowed install would: curl and aws-lambda-cpp with cmake, then the addon with node-gyp. It needs
// cmake, a C and C++ compiler, make, python3 and npm on PATH (about 5 minutes on 2 cores).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { nativeRuntimeClient, ricEntry } from '../src/runtime-client/location.ts'

const ricDirectory = dirname(ricEntry)
const needed = [['cmake', 'cmake3'], ['cc', 'gcc'], ['c++', 'g++'], ['make'], ['python3', 'python'], ['npm']]
const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const missing = needed.filter((alternatives) => !alternatives.some(onPath)).map((names) => names.join(' or '))
if (missing.length > 0) {
  console.error(`build:native-reference: not on PATH: ${missing.join(', ')}`)
  process.exit(1)
}
const started = performance.now()
for (const script of ['scripts/preinstall.sh', 'scripts/postinstall.sh'])
  execFileSync('sh', [join(ricDirectory, script)], { cwd: ricDirectory, stdio: 'inherit' })
if (!existsSync(nativeRuntimeClient)) {
  console.error(`build:native-reference: the scripts ended without ${nativeRuntimeClient}`)
  process.exit(1)
}
console.log(
  `build:native-reference: ${nativeRuntimeClient} built in ${((performance.now() - started) / 1000).toFixed(0)} s`,
)
