// The require banners a user copies into an ESM bundle: AWS's documentation's (from 'module'), the one
// thaw's Deploying guide and the examples' SAM templates print (from 'node:module'), and the longer one
// that adds __filename and __dirname. Exactly as written there: their names are the point.
export const documentedBanners = {
  aws: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  thaw: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  'aws with __dirname': [
    "import { createRequire } from 'module';",
    "import { fileURLToPath } from 'url';",
    "import path from 'path';",
    'const require = createRequire(import.meta.url);',
    'const __filename = fileURLToPath(import.meta.url);',
    'const __dirname = path.dirname(__filename);',
  ].join(' '),
} as const
