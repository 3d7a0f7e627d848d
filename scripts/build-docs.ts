// Builds the documentation site into .site/dist: docs/ and the READMEs are copied into .site/ as
// pages (README.md → index.md, packages/NAME/README.md → packages/NAME.md, CONTRIBUTING.md,
// examples/README.md), each relative link rewritten to the page it now names, or to the file on
// GitHub when it names a source file rather than a page; then VitePress builds it, failing on a dead
// link between pages.
//
//   node scripts/build-docs.ts
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, posix, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
export const siteDirectory = join(root, '.site')
const repository = 'https://github.com/thawjs/thaw/blob/main'

// Repository path → site page, for every document the site shows.
const pages = new Map<string, string>([
  ['README.md', 'index.md'],
  ['CONTRIBUTING.md', 'contributing.md'],
  ['examples/README.md', 'examples.md'],
  ...readdirSync(join(root, 'packages'))
    .filter((name) => name !== 'test-support' && existsSync(join(root, 'packages', name, 'README.md')))
    .map((name): [string, string] => [`packages/${name}/README.md`, `packages/${name}.md`]),
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file): [string, string] => [`docs/${file}`, file]),
])

// Files of docs/ that are no page (the benchmarks' and the fleet's charts, the data they were drawn
// from): copied into the site at the same place, linked as they are.
const assets = new Map<string, string>(
  readdirSync(join(root, 'docs'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.md'))
    .map((entry) => posix.join(relative(join(root, 'docs'), entry.parentPath), entry.name))
    .filter((file) => !file.startsWith('.vitepress/'))
    .map((file): [string, string] => [`docs/${file}`, file]),
)

const rewriteLinks = (markdown: string, source: string, page: string): string =>
  markdown.replace(/\]\(([^)\s]+)\)/g, (whole, target: string) => {
    if (/^[a-z]+:/.test(target) || target.startsWith('#')) return whole
    const [path = '', anchor] = target.split('#')
    const inRepository = posix.normalize(posix.join(posix.dirname(source), path)).replace(/\/$/, '')
    const asPage =
      pages.get(inRepository) ?? pages.get(`${inRepository}/README.md`) ?? assets.get(inRepository)
    const hash = anchor === undefined ? '' : `#${anchor}`
    if (asPage) return `](${posix.relative(posix.dirname(page), asPage) || asPage}${hash})`
    return `](${repository}/${inRepository}${hash})`
  })

// An inline code span that wraps onto a line starting with `<` (CONTRIBUTING's "must be <what it
// expects>, got\n<the kind of value>") is read by VitePress's Vue compiler as an unclosed element: such
// spans are joined onto one line, outside fenced blocks. GitHub renders both the same.
const joinWrappedCodeSpans = (markdown: string): string =>
  markdown
    .split(/(```[\s\S]*?```)/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            .split('\n\n')
            .map((paragraph) =>
              paragraph
                .split('`')
                .map((piece, position) => (position % 2 === 1 ? piece.replaceAll('\n', ' ') : piece))
                .join('`'),
            )
            .join('\n\n'),
    )
    .join('')

export const buildDocs = (): string => {
  rmSync(siteDirectory, { recursive: true, force: true })
  mkdirSync(siteDirectory, { recursive: true })
  cpSync(join(root, 'docs', '.vitepress'), join(siteDirectory, '.vitepress'), { recursive: true })
  for (const [source, asset] of assets) {
    mkdirSync(dirname(join(siteDirectory, asset)), { recursive: true })
    cpSync(join(root, source), join(siteDirectory, asset))
  }
  for (const [source, page] of pages) {
    const file = join(siteDirectory, page)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(
      file,
      joinWrappedCodeSpans(rewriteLinks(readFileSync(join(root, source), 'utf8'), source, page)),
    )
  }
  const vitepress = join(
    dirname(createRequire(import.meta.url).resolve('vitepress/package.json')),
    'bin',
    'vitepress.js',
  )
  execFileSync(
    process.execPath,
    [vitepress, 'build', siteDirectory, '--outDir', join(siteDirectory, 'dist')],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  return join(siteDirectory, 'dist')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const output = buildDocs()
  console.log(`documentation site built: ${relative(root, output)}/index.html`)
}
