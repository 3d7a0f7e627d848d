export { configurationKey } from './configuration-key.ts'
export { describeValue } from './describe.ts'
export { type OptionErrorCause, optionError, ThawError } from './errors.ts'
export { loadOptionalPeer } from './optional-peer.ts'
export {
  defaultsOf,
  isPlainObject,
  type OptionFailure,
  type OptionRule,
  type OptionsOf,
  type OptionTable,
  option,
  optionFailure,
  type SettingsOf,
  validateOptionTable,
} from './options.ts'
export { maxTimerMs } from './timers.ts'
