export { configurationKey } from './configuration-key.ts'
export { describeValue } from './describe.ts'
export { type OptionErrorCause, optionError, ThawError } from './errors.ts'
export {
  type OptionFailure,
  optionFailure,
  refuseReservedKeys,
  refuseUnknownName,
} from './failure.ts'
export { nearestName } from './near-name.ts'
export { loadOptionalPeer } from './optional-peer.ts'
export {
  defaultsOf,
  isPlainObject,
  type OptionRule,
  type OptionsOf,
  type OptionTable,
  objectExpected,
  objectShape,
  option,
  type SettingsOf,
  validateOptionTable,
} from './options.ts'
export { isReservedKey, lambdaContextMembers, propertyKeyExpected } from './property-keys.ts'
export { maxTimerMs } from './timers.ts'
