// Which names may become a property of an object thaw hands out: a middleware's `contextKey` (a
// property of the Lambda context), a client's name (a property of `context.clients`), a key of an
// options object copied into another. One rule for every package, so that no package refuses
// '__proto__' where another lets it replace a prototype.
//
// Refused:
// - Object.prototype's own names ('__proto__', 'constructor', 'hasOwnProperty', 'toString', …):
//   assigning '__proto__' replaces the object's prototype instead of adding a property (the store
//   became the Lambda context's prototype), and the others shadow what every object is expected to
//   answer;
// - 'prototype': a function's own, and the usual way into a prototype chain from a name;
// - the Lambda context's own members (@types/aws-lambda 8.10.164's Context, and Middy 7.9's
//   `lambdaContext`, which it adds to the context): context.getRemainingTimeInMillis replaced by a
//   store breaks Middy's timeout and every deadline thaw reads from it.

/** The members of the Lambda context a handler receives (and Middy's `lambdaContext`). */
export const lambdaContextMembers: readonly string[] = Object.freeze([
  'callbackWaitsForEmptyEventLoop',
  'functionName',
  'functionVersion',
  'invokedFunctionArn',
  'memoryLimitInMB',
  'awsRequestId',
  'logGroupName',
  'logStreamName',
  'identity',
  'clientContext',
  'tenantId',
  'getRemainingTimeInMillis',
  'done',
  'fail',
  'succeed',
  'lambdaContext',
])

const reservedKeys: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
  ...lambdaContextMembers,
])

/**
 * Whether `key` must never become a property of an object thaw hands out (see above).
 * @example isReservedKey('__proto__') // true; isReservedKey('db') // false
 */
export const isReservedKey = (key: string): boolean => reservedKeys.has(key)

/** What a rule that takes a property name expects, as messages say it. */
export const propertyKeyExpected =
  "a non-empty string that is not a member of the Lambda context or of Object.prototype (such as '__proto__' or 'constructor')"
