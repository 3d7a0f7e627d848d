// A rejection of thaw's own that no caller may be waiting for: a statement sent after its invocation
// ended, refused past the deadline, or stopped while the handler had not awaited it. Marked as handled,
// so that it cannot end the runtime as an unhandled rejection (Lambda's Node runtime exits on one); a
// caller that awaits the promise still gets the error.
const noop = () => {}

export const quietRejection = <T = never>(error: Error): Promise<T> => {
  const rejected = Promise.reject(error)
  rejected.catch(noop)
  return rejected
}

// The same for a promise made elsewhere (a statement's own), once thaw knows it will settle it.
export const markHandled = (promise: Promise<unknown> | undefined): void => {
  promise?.catch(noop)
}
