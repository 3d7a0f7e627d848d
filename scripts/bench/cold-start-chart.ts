// The cold starts as a picture: for each example, every round's init plus first invocation of the
// example (thaw) and of its same-work twin, one dot a round, a tick at each variant's median; CPU time
// of the environment above, wall time below. Vega-Lite rendered to SVG in Node by the demo's renderer.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { TopLevelSpec } from 'vega-lite'
import { renderSvg } from '../demo/report.ts'

export interface ColdStartPoint {
  example: string
  variant: string
  // 'CPU time' or 'wall time' of init plus the first invocation.
  measure: string
  ms: number
}

export const coldStartChartSpec = (points: ColdStartPoint[]): TopLevelSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Cold start (init + first invocation) of each example and its same-work twin, one dot a round',
  data: { values: points },
  facet: {
    row: { field: 'example', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } },
    column: { field: 'measure', type: 'nominal', title: null },
  },
  resolve: { scale: { x: 'independent', y: 'independent' } },
  spec: {
    width: 300,
    height: 50,
    layer: [
      {
        mark: { type: 'point', opacity: 0.5, filled: true, size: 20 },
        encoding: {
          y: { field: 'variant', type: 'nominal', title: null },
          x: { field: 'ms', type: 'quantitative', title: 'ms', scale: { zero: false } },
        },
      },
      {
        mark: { type: 'tick', thickness: 2, size: 18, color: 'black' },
        encoding: {
          y: { field: 'variant', type: 'nominal', title: null },
          x: { aggregate: 'median', field: 'ms', type: 'quantitative' },
        },
      },
    ],
  },
})

export const writeColdStartChart = async (file: string, points: ColdStartPoint[]): Promise<string> => {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, await renderSvg(coldStartChartSpec(points)))
  return file
}
