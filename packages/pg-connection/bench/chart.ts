// The benchmark's chart: per variant, the client CPU and the wall time per warm invocation, one bar for
// the median of the round medians and one dot per round, drawn with the demo's Vega-Lite renderer.
import { writeFileSync } from 'node:fs'
import type { TopLevelSpec } from 'vega-lite'
import { renderSvg } from '../../../scripts/demo/report.ts'

export interface RoundSample {
  variant: string
  measure: 'client CPU' | 'wall'
  us: number
}

const panel = (measure: RoundSample['measure'], order: string[]) => ({
  title: `${measure}, µs per warm invocation`,
  width: 300,
  height: 34 * order.length,
  transform: [{ filter: { field: 'measure', equal: measure } }],
  encoding: {
    y: { field: 'variant', type: 'nominal', title: null, sort: order },
    x: { field: 'us', type: 'quantitative', title: 'µs' },
  },
  layer: [
    { mark: { type: 'bar', opacity: 0.55 }, encoding: { x: { aggregate: 'median', field: 'us' } } },
    { mark: { type: 'tick', color: 'black', thickness: 1 } },
  ],
})

export const writeChart = async (
  file: string,
  title: string,
  subtitle: string[],
  samples: RoundSample[],
): Promise<void> => {
  const order = [...new Set(samples.map((sample) => sample.variant))]
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    data: { values: samples },
    hconcat: [panel('client CPU', order), panel('wall', order)],
  } as TopLevelSpec
  writeFileSync(file, await renderSvg(spec))
}
