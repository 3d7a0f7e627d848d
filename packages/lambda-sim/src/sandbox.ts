// The places of one environment on this machine: its /tmp (TMPDIR; made here unless tmpDir names one,
// and then removed at shutdown), the directory of its runtimes' stdout and stderr files, and its
// CloudWatch log stream name.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export class Sandbox {
  readonly tmpDir: string
  readonly captureDirectory: string
  readonly logStreamName: string
  readonly #ownsTmpDir: boolean

  constructor(tmpDir: string | undefined) {
    this.#ownsTmpDir = tmpDir === undefined
    this.tmpDir = tmpDir ?? mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-tmp-'))
    mkdirSync(this.tmpDir, { recursive: true })
    this.captureDirectory = mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-output-'))
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/')
    this.logStreamName = `${today}/[$LATEST]${randomBytes(16).toString('hex')}`
  }

  remove(): void {
    rmSync(this.captureDirectory, { recursive: true, force: true })
    if (this.#ownsTmpDir) rmSync(this.tmpDir, { recursive: true, force: true })
  }
}
