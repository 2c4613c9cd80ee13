/** A Lambda-like `context` for each invocation, as the Node.js runtime builds it. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import {
  DEFAULT_FUNCTION_MEMORY_MB,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  DEFAULT_REGION,
  FAKE_ACCOUNT_ID,
} from './constants.js';
import { UnsupportedContextMethodError } from './errors.js';
import type { Clock } from './types.js';

export interface FunctionSettings {
  /** Function name as deployed (template logical id or FunctionName). */
  readonly name: string;
  readonly timeoutSeconds?: number;
  readonly memorySizeMb?: number;
  readonly region?: string;
}

export interface ResolvedFunctionSettings {
  readonly name: string;
  readonly timeoutMs: number;
  readonly memorySizeMb: number;
  readonly region: string;
  readonly functionArn: string;
  readonly logGroupName: string;
  /** One log stream per emulated execution environment, like a warm Lambda sandbox. */
  readonly logStreamName: string;
}

export function resolveFunctionSettings(fn: FunctionSettings): ResolvedFunctionSettings {
  const region = fn.region ?? DEFAULT_REGION;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return Object.freeze({
    name: fn.name,
    timeoutMs: (fn.timeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS) * 1000,
    memorySizeMb: fn.memorySizeMb ?? DEFAULT_FUNCTION_MEMORY_MB,
    region,
    functionArn: `arn:aws:lambda:${region}:${FAKE_ACCOUNT_ID}:function:${fn.name}`,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
  });
}

function unsupported(method: string): never {
  throw new UnsupportedContextMethodError(
    `context.${method}() is a deprecated callback API the emulator does not support; return (or resolve) the response from an async handler instead.`,
  );
}

/** Build the context for one invocation; `getRemainingTimeInMillis` counts down from the function timeout. */
export function createLambdaContext(
  fn: ResolvedFunctionSettings,
  clock: Clock,
  requestId: string = randomUUID(),
): Context {
  const deadlineMs = clock.now() + fn.timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.functionArn,
    memoryLimitInMB: String(fn.memorySizeMb),
    awsRequestId: requestId,
    logGroupName: fn.logGroupName,
    logStreamName: fn.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - clock.now()),
    done: () => unsupported('done'),
    fail: () => unsupported('fail'),
    succeed: () => unsupported('succeed'),
  };
}
