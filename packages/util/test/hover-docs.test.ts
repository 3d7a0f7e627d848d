// What an editor shows on hover: every option of a package's options type and every function it
// exports carries JSDoc with an `@example` (and each option a `@default`), read with the TypeScript
// compiler as an editor reads it (the documentation and tags of the symbol under the cursor). The
// options types are mapped from the options tables (OptionsOf), and a homomorphic mapped type keeps
// each property's declaration, so the JSDoc written once on a table's entry is what the hover shows
// (and `tsc` keeps it in the published options.d.ts): no second, hand-written interface.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from '@jest/globals'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

// Each package checked, with the function whose first parameter is its options (none for util). The
// two drivers' shared options are documented once, on @thaw/db-core's rows.
const packages: { dir: string; optionsOf?: string }[] = [
  { dir: 'db-connection', optionsOf: 'default' },
  { dir: 'pg-connection', optionsOf: 'default' },
  { dir: 'sdk-clients', optionsOf: 'default' },
  { dir: 'tmp-store', optionsOf: 'default' },
  { dir: 'lambda-sim', optionsOf: 'startEnvironment' },
  { dir: 'util' },
]

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  },
) as ts.ParsedCommandLine
const entries = packages.map(({ dir }) => join(root, 'packages', dir, 'src', 'index.ts'))
const program = ts.createProgram(entries, config.options)
const checker = program.getTypeChecker()

interface Hover {
  documentation: string
  tags: string[]
}
const hover = (symbol: ts.Symbol): Hover => ({
  documentation: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim(),
  tags: symbol.getJsDocTags(checker).map((tag) => tag.name),
})

const exportsOf = (dir: string) => {
  const file = program.getSourceFile(join(root, 'packages', dir, 'src', 'index.ts')) as ts.SourceFile
  const module = checker.getSymbolAtLocation(file) as ts.Symbol
  return checker.getExportsOfModule(module).map((symbol) => ({
    name: symbol.name,
    symbol: symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol,
  }))
}

// Functions: values with a call signature and no construct signature (classes and error classes are
// documented by their members).
const functionsOf = (dir: string) =>
  exportsOf(dir).filter(({ symbol }) => {
    if (!(symbol.flags & ts.SymbolFlags.Value)) return false
    const type = checker.getTypeOfSymbol(symbol)
    return type.getCallSignatures().length > 0 && type.getConstructSignatures().length === 0
  })

// The options a user writes: the properties of the first parameter's type, of every member of a union.
const optionsOf = (dir: string, name: string) => {
  const fn = exportsOf(dir).find((entry) => entry.name === name)
  if (!fn) throw new Error(`${dir} exports no ${name}`)
  const [signature] = checker.getTypeOfSymbol(fn.symbol).getCallSignatures()
  const parameter = signature?.getParameters()[0]
  if (!parameter) throw new Error(`${dir}'s ${name} takes no options`)
  const type = checker.getNonNullableType(checker.getTypeOfSymbol(parameter))
  const members = type.isUnion() ? type.types : [type]
  const options = new Map<string, ts.Symbol>()
  // Where the members disagree (credentials: `secret` in one, `secret?: undefined` in the others), the
  // editor shows the member the object literal matches: the one that documents the option.
  for (const member of members)
    for (const property of checker.getPropertiesOfType(member)) {
      const seen = options.get(property.name)
      if (!seen || hover(seen).documentation === '') options.set(property.name, property)
    }
  return [...options]
}

describe.each(packages)('$dir', ({ dir, optionsOf: optionsFunction }) => {
  test('every exported function shows a description and an @example', () => {
    const missing = functionsOf(dir)
      .map(({ name, symbol }) => ({ name, ...hover(symbol) }))
      .filter(({ documentation, tags }) => documentation === '' || !tags.includes('example'))
      .map(({ name }) => name)
    expect(missing).toEqual([])
  })

  if (optionsFunction)
    test('every option shows a description, a @default and an @example', () => {
      const options = optionsOf(dir, optionsFunction)
      expect(options.length).toBeGreaterThan(0)
      const missing = options
        .map(([name, symbol]) => ({ name, ...hover(symbol) }))
        .filter(
          ({ documentation, tags }) =>
            documentation === '' || !tags.includes('default') || !tags.includes('example'),
        )
        .map(({ name }) => name)
      expect(missing).toEqual([])
    })
})
