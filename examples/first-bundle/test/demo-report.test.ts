// The demo's report: its tables fit in 100 columns whatever the failure messages say (those go to
// numbered notes), with a legend, and its charts are SVG rendered in Node by Vega-Lite, one mark per
// pattern measured.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc, test as property } from '@fast-check/jest'
import { expect, test } from '@jest/globals'
import { formatTable, terminalWidth, writeCharts } from '../../../scripts/demo/report.ts'

const longFailure =
  "Error: Access denied for user 'thaw_demo_connect'@'127.0.0.1' (using password: YES) while connecting to the database at a host with a long name"

test('a table with long failures fits in 100 columns, the failures in notes, with a legend', () => {
  const lines = formatTable({
    title: `Act 1: ${'a long title '.repeat(12)}`,
    columns: ['pattern', 'cold', 'warm p50 / p99', 'opened', 'failed', 'failure'],
    rows: [
      ['connect in the handler', '149.2 ms', '3.90 / 12.9 ms', '56', '25 of 56', longFailure],
      ['thaw (examples/orders-api)', '358.8 ms', '2.94 / 20.0 ms', '7', '0 of 56', ''],
    ],
    legend: { cold: 'median of init plus the first invocation '.repeat(4) },
    notesColumn: 'failure',
  })
  expect(lines.filter((line) => line.length > terminalWidth)).toEqual([])
  expect(lines.some((line) => line.startsWith('connect in the handler') && line.endsWith('[1]'))).toBe(true)
  expect(lines.join(' ').replace(/\s+/g, ' ')).toContain(longFailure)
  expect(lines.some((line) => line.startsWith('  cold: median'))).toBe(true)
})

property.prop([fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 5 })])(
  'any failure text stays within 100 columns once it is a note',
  (failures) => {
    const lines = formatTable({
      title: 'title',
      columns: ['pattern', 'failure'],
      rows: failures.map((failure, index) => [`pattern ${index}`, failure]),
      legend: {},
      notesColumn: 'failure',
    })
    // A single word longer than the line is the one thing wrap cannot shorten.
    const overlong = lines.filter(
      (line) => line.length > terminalWidth && /\s\S{90,}/.test(` ${line.trim()}`) === false,
    )
    expect(overlong).toEqual([])
  },
)

test('the charts are SVG with a mark for every pattern', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'thaw-demo-charts-'))
  try {
    const files = await writeCharts(directory, [
      { act: 'Act 1', pattern: 'thaw', phase: 'cold', ms: 300 },
      { act: 'Act 1', pattern: 'by hand, same work as thaw', phase: 'cold', ms: 250 },
      { act: 'Act 1', pattern: 'thaw', phase: 'warm', ms: 3 },
      { act: 'Act 1', pattern: 'by hand, same work as thaw', phase: 'warm', ms: 2 },
    ])
    expect(files.map((file) => file.slice(directory.length + 1))).toEqual([
      'act-1-warm-latency.svg',
      'act-1-cold-start.svg',
    ])
    const cold = readFileSync(join(directory, 'act-1-cold-start.svg'), 'utf8')
    expect(cold.startsWith('<svg')).toBe(true)
    expect(cold).toContain('ms: 300; pattern: thaw')
    expect(cold).toContain('ms: 250; pattern: by hand, same work as thaw')
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})
