export { databaseName, databaseUrl, fixturesOf } from './fixtures.ts'
export { type StartedThings, type Stoppable, startedThings } from './started.ts'
export { sleep, waitFor, withDeadline } from './waits.ts'
