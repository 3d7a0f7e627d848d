// Node's timers hold a signed 32-bit millisecond count: a longer delay is replaced by 1 ms with only a
// TimeoutOverflowWarning (checked on Node 22.23 and 24.21), so a duration option above it must be
// refused, never passed on.
export const maxTimerMs = 2 ** 31 - 1
