// The all-together twin, with the three middlewares in its bundle and never used: against the twin,
// the cost of loading thaw's code (parsing, compiling and evaluating it) apart from anything it does.
//   node --conditions=@thaw/source scripts/bench/cold-start.bench.ts --instructions --only all-together \
//     --also scripts/bench/ablations/quote-twin-loading-thaw.ts
export { default as unusedDbConnection } from '@thaw/db-connection'
export { default as unusedSdkClients } from '@thaw/sdk-clients'
// The workspace root does not depend on tmp-store: its sources, as the examples' own bundles take them.
export { default as unusedTmpStore } from '../../../packages/tmp-store/src/index.ts'
export { handler } from '../twins/quote-hand-written.ts'
