// The documentation site: docs/ and the READMEs, assembled into .site/ by scripts/build-docs.ts and
// built with VitePress. Why VitePress: it reads the Markdown as GitHub shows it (tables, heading
// anchors, code blocks), so one text serves the repository and the site; its build fails on a dead
// link between pages; it is a static build with local search and no server; it is kept by the Vue
// team with regular releases (1.6 here).
import { defineConfig } from 'vitepress'

export default defineConfig({
  title: 'thaw',
  description: 'Middy middlewares for AWS Lambda that keep expensive resources alive across warm invocations',
  cleanUrls: true,
  // A dead link between pages fails the build (VitePress's default, kept on purpose).
  ignoreDeadLinks: false,
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Guide', link: '/' },
      { text: 'Troubleshooting', link: '/troubleshooting' },
      { text: 'Benchmarks', link: '/benchmarks' },
    ],
    sidebar: [
      {
        text: 'Start',
        items: [
          { text: 'Overview', link: '/' },
          { text: 'Troubleshooting', link: '/troubleshooting' },
          { text: 'Examples', link: '/examples' },
        ],
      },
      {
        text: 'Packages',
        items: [
          { text: '@thaw/db-connection', link: '/packages/db-connection' },
          { text: '@thaw/pg-connection', link: '/packages/pg-connection' },
          { text: '@thaw/sdk-clients', link: '/packages/sdk-clients' },
          { text: '@thaw/tmp-store', link: '/packages/tmp-store' },
          { text: '@thaw/lambda-sim', link: '/packages/lambda-sim' },
          { text: '@thaw/util', link: '/packages/util' },
        ],
      },
      {
        text: 'In depth',
        items: [
          { text: 'db-connection: how it works', link: '/db-connection' },
          { text: 'Database log events', link: '/log-events' },
          { text: 'tmp-store: how it works', link: '/tmp-store' },
          { text: 'lambda-sim in depth', link: '/lambda-sim' },
          { text: 'Benchmarks and the demo', link: '/benchmarks' },
          { text: 'How thaw is tested', link: '/testing' },
          { text: 'Changelogs', link: '/changelogs' },
          { text: 'Contributing', link: '/contributing' },
          { text: 'This site', link: '/site' },
        ],
      },
    ],
  },
})
