import { expect } from '@jest/globals'

// The message of the error `build` throws, checking its class (a TypeError for bad options).
export const messageOf = (build: () => unknown, type: ErrorConstructor = TypeError): string => {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(type)
    return (error as Error).message
  }
  throw new Error('expected a refusal')
}
