// The fleet day as a picture: the sessions the fleet's functions held on the server over the day, one
// line per variant, above the failed invocations so far, on one time axis; a rule marks the limit the
// day plays against. Vega-Lite rendered to SVG in Node by the demo's renderer (no browser).
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { TopLevelSpec } from 'vega-lite'
import { renderSvg } from '../demo/report.ts'

// One sample of one variant's day: seconds since its day began, the sessions its functions held
// (the bystander's not counted), and the invocations that had failed by then.
export interface FleetTimelinePoint {
  variant: string
  seconds: number
  held: number
  failed: number
}

export interface FleetChart {
  title: string
  // What the fleet's sessions play against (max_connections, or the user's MAX_USER_CONNECTIONS).
  limit: { value: number; label: string }
  points: FleetTimelinePoint[]
}

const width = 640

export const fleetChartSpec = ({ title, limit, points }: FleetChart): TopLevelSpec => {
  const color = { field: 'variant', type: 'nominal', title: 'variant', sort: null } as const
  const x = { field: 'seconds', type: 'quantitative', title: 'seconds into the day' } as const
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    vconcat: [
      {
        width,
        height: 220,
        layer: [
          {
            mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'held', type: 'quantitative', title: 'sessions held' }, color },
          },
          {
            data: { values: [limit] },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
            encoding: { y: { field: 'value', type: 'quantitative' } },
          },
          {
            data: { values: [limit] },
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray' },
            encoding: {
              x: { datum: 0, type: 'quantitative' },
              y: { field: 'value', type: 'quantitative' },
              text: { field: 'label' },
            },
          },
        ],
      },
      {
        width,
        height: 120,
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
        encoding: { x, y: { field: 'failed', type: 'quantitative', title: 'failed so far' }, color },
      },
    ],
  } as TopLevelSpec
}

export const writeFleetChart = async (file: string, chart: FleetChart): Promise<string> => {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, await renderSvg(fleetChartSpec(chart)))
  return file
}
