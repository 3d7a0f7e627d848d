// The documentation site builds (VitePress fails the build on a dead link between pages) and a page
// of it opens in a real headless Chromium: the package page renders its title, its generated options
// table and the sidebar that leads to the other pages. Skipped, saying why, where Debian's chromium
// is not installed (`apt-get install -y chromium`).
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals'
import { chromium } from 'playwright-core'
import { buildDocs } from '../../../scripts/build-docs.ts'
import { onProjectNode, sayWhenSkippedOffProjectNode } from './packed.ts'

jest.setTimeout(180_000)
sayWhenSkippedOffProjectNode('docs site tests')
const testOnProjectNode = onProjectNode ? test : test.skip

const chromiumPath = '/usr/bin/chromium'
const haveChromium = existsSync(chromiumPath)
if (!haveChromium)
  console.log(`docs site smoke test skipped: ${chromiumPath} is absent (apt-get install -y chromium)`)

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }

let site: string
let server: Server
let origin: string

beforeAll(async () => {
  if (!onProjectNode) return
  site = buildDocs()
  // The built site as a static server would serve it (cleanUrls: /packages/db-connection → .html).
  server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname))
    const candidates = [join(site, path), join(site, `${path}.html`), join(site, path, 'index.html')]
    const file = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile())
    if (!file) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
    response.end(readFileSync(file))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve))
})

testOnProjectNode('the site has a page for each README and guide', () => {
  for (const page of [
    'index.html',
    'packages/db-connection.html',
    'troubleshooting.html',
    'benchmarks.html',
  ]) {
    expect(existsSync(join(site, page))).toBe(true)
  }
})

;(haveChromium && onProjectNode ? test : test.skip)(
  'db-connection page opens in headless Chromium',
  async () => {
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      const response = await page.goto(`${origin}/packages/db-connection`, {
        waitUntil: 'load',
        timeout: 60_000,
      })
      expect(response?.status()).toBe(200)
      expect(await page.locator('h1').first().textContent()).toContain('@thaw/db-connection')
      expect(await page.locator('table').first().textContent()).toContain('validateAfterIdleMs')
      await page.locator('aside a[href$="/troubleshooting"], nav a[href$="/troubleshooting"]').first().click()
      await page.waitForURL(/\/troubleshooting$/, { timeout: 30_000 })
      // The router swaps the page's content after the URL: wait (with a deadline) for the new title.
      await page.locator('h1', { hasText: 'Troubleshooting' }).first().waitFor({ timeout: 30_000 })
      expect(await page.locator('h1').first().textContent()).toContain('Troubleshooting')
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }
  },
)
