// The logger hook's events: one definition for every database middleware, in @thaw/db-core.
export { type LogLevel, logEvent } from '@thaw/db-core'
