import type { Context } from 'aws-lambda'

// A Lambda context for invoking a Middy handler in this process (lambda-sim tests use real ones).
// Typed as whatever context the Middy handler expects (its own context type includes the clients).
export const lambdaContext = <TContext extends Context = Context>(): TContext =>
  ({
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'sdk-clients-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sdk-clients-test',
    memoryLimitInMB: '128',
    awsRequestId: 'sdk-clients-request',
    logGroupName: '/aws/lambda/sdk-clients-test',
    logStreamName: 'sdk-clients-stream',
    getRemainingTimeInMillis: () => 3_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context as TContext
