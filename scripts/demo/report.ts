// How the demo prints what it measured: tables that fit in 100 columns (long failure messages go to
// numbered notes under the table, wrapped), a legend saying what each column means, and SVG charts
// rendered in Node with Vega-Lite (no browser): each pattern's latency distribution, and each cold
// start beside the same-work row.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as vega from 'vega'
import * as vegaLite from 'vega-lite'

export const terminalWidth = 100

// Words onto lines of at most `width` characters (a word longer than that gets a line of its own).
export const wrap = (text: string, width = terminalWidth, indent = ''): string[] => {
  const lines: string[] = []
  let line = indent
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line)
      line = indent
    }
    line += line.trim() ? ` ${word}` : word
  }
  if (line.trim()) lines.push(line)
  return lines
}

export interface ReportTable {
  title: string
  columns: string[]
  rows: string[][]
  // Column name → what it means, printed under the table.
  legend: Record<string, string>
  // The column whose long texts become notes ([1], [2]…) under the table.
  notesColumn?: string
}

// The table as lines of text, none wider than terminalWidth where the cells allow it.
export const formatTable = ({ title, columns, rows, legend, notesColumn }: ReportTable): string[] => {
  const notes: string[] = []
  const noteIndex = notesColumn === undefined ? -1 : columns.indexOf(notesColumn)
  const cells = rows.map((row) =>
    row.map((cell, index) => {
      if (index !== noteIndex || cell === '') return cell
      notes.push(cell)
      return `[${notes.length}]`
    }),
  )
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((row) => (row[index] ?? '').length)),
  )
  const line = (row: string[]) =>
    row
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd()
  return [
    '',
    ...wrap(title),
    '',
    line(columns),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.map(line),
    '',
    ...notes.flatMap((note, index) =>
      wrap(note, terminalWidth - 5).map(
        (text, lineIndex) => (lineIndex === 0 ? `[${index + 1}]`.padEnd(5) : '     ') + text,
      ),
    ),
    ...(notes.length > 0 ? [''] : []),
    ...Object.entries(legend).flatMap(([column, meaning]) => {
      const [first = '', ...rest] = wrap(`${column}: ${meaning}`, terminalWidth - 2)
      return [`  ${first}`, ...rest.map((text) => `    ${text}`)]
    }),
  ]
}

export const printReportTable = (table: ReportTable) => {
  for (const line of formatTable(table)) console.log(line)
}

// One latency sample of one pattern: the chart data.
export interface LatencySample {
  act: string
  pattern: string
  phase: 'cold' | 'warm'
  ms: number
}

// A Vega-Lite spec rendered to SVG in Node, no browser: the demo's charts, the benchmarks' and the
// fleet's (scripts/fleet/chart.ts).
export const renderSvg = async (spec: vegaLite.TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

// One chart per act and phase: a row per pattern (in the order measured), the latency along x.
const charts = {
  warm: {
    suffix: 'warm-latency',
    title: "warm invocations (Lambda's Duration)",
    mark: { type: 'boxplot', extent: 'min-max', size: 14 },
    x: { field: 'ms', type: 'quantitative', title: 'ms (log scale)', scale: { type: 'log' } },
  },
  cold: {
    suffix: 'cold-start',
    title: 'cold start (init + first invocation, median)',
    mark: { type: 'bar' },
    x: { aggregate: 'median', field: 'ms', type: 'quantitative', title: 'ms' },
  },
} as const

// Writes the charts into `directory`; returns the files written.
export const writeCharts = async (directory: string, samples: LatencySample[]): Promise<string[]> => {
  mkdirSync(directory, { recursive: true })
  const written: string[] = []
  for (const act of [...new Set(samples.map((sample) => sample.act))]) {
    const slug = act
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
    for (const phase of ['warm', 'cold'] as const) {
      const values = samples.filter((sample) => sample.act === act && sample.phase === phase)
      if (values.length === 0) continue
      const chart = charts[phase]
      const file = join(directory, `${slug}-${chart.suffix}.svg`)
      const spec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: `${act}: ${chart.title}`,
        width: 520,
        height: 40 * new Set(values.map((sample) => sample.pattern)).size,
        data: { values },
        mark: chart.mark,
        encoding: { y: { field: 'pattern', type: 'nominal', title: null, sort: null }, x: chart.x },
      } as vegaLite.TopLevelSpec
      writeFileSync(file, await renderSvg(spec))
      written.push(file)
    }
  }
  return written
}
