// The orders-api twin, with @thaw/db-connection in its bundle and never used: against the twin, the
// cost of loading thaw's code (compiling and evaluating it) apart from anything it does.
//   node --conditions=@thaw/source scripts/bench/cold-start.bench.ts 61 --only orders-api \
//     --also scripts/bench/ablations/orders-twin-loading-thaw.ts --also scripts/bench/ablations/orders-thaw-fleet-off.ts
export { default as unusedDbConnection } from '@thaw/db-connection'
export { handler } from '../twins/orders-hand-written.ts'
