/**
 * Invokes the handler once with Lambda's rules: a timeout, and the response read the way the event
 * source mapping reads it (partial batch response, tumbling-window state).
 */
import { randomUUID } from 'node:crypto';
import { FunctionTimeoutError, InvalidFunctionResponseError } from './errors.js';
import { createLambdaContext, type ResolvedFunctionSettings } from './lambda-context.js';
import type { Clock, StreamHandler } from './types.js';

export type InvocationOutcome =
  | { kind: 'success'; state: Record<string, unknown> | undefined; requestId: string }
  /** `failedIndex` = index in the batch of the lowest reported sequence number. */
  | { kind: 'partial'; failedIndex: number; state: Record<string, unknown> | undefined; requestId: string }
  | { kind: 'error'; error: Error; requestId: string };

export interface InvokeOptions {
  readonly reportBatchItemFailures: boolean;
  /** The event carries `window`: the response must carry `state` (Lambda counts it failed otherwise). */
  readonly windowed: boolean;
  /** Sequence number -> index in the batch, for the records of this invocation. */
  readonly indexBySequenceNumber: ReadonlyMap<string, number>;
}

function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `handler failed with ${JSON.stringify(value)}`);
}

/** Run the handler; resolves with the outcome, never rejects. */
export async function invokeHandler(
  handler: StreamHandler,
  event: unknown,
  fn: ResolvedFunctionSettings,
  clock: Clock,
  options: InvokeOptions,
): Promise<InvocationOutcome> {
  const requestId = randomUUID();
  const context = createLambdaContext(fn, clock, requestId);
  let timer: NodeJS.Timeout | undefined;
  let response: unknown;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new FunctionTimeoutError(`Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`));
      }, fn.timeoutMs);
    });
    // Like Lambda, a timed-out invocation is abandoned, not cancelled: its late result is ignored.
    response = await Promise.race([Promise.resolve().then(() => handler(event, context)), timeout]);
  } catch (err) {
    return { kind: 'error', error: asError(err), requestId };
  } finally {
    clearTimeout(timer);
  }
  return readResponse(response, options, requestId);
}

function readResponse(response: unknown, options: InvokeOptions, requestId: string): InvocationOutcome {
  const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : undefined;
  let state: Record<string, unknown> | undefined;
  if (options.windowed) {
    const raw = body?.state;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return {
        kind: 'error',
        error: new InvalidFunctionResponseError(
          'The event carries a tumbling window, so the response must carry a `state` object; Lambda counts this invocation as failed.',
        ),
        requestId,
      };
    }
    state = raw as Record<string, unknown>;
  }
  const failures = body?.batchItemFailures;
  if (!options.reportBatchItemFailures || failures === undefined || failures === null)
    return { kind: 'success', state, requestId };
  if (!Array.isArray(failures)) {
    return {
      kind: 'error',
      error: new InvalidFunctionResponseError(
        'batchItemFailures must be an array; Lambda treats the whole batch as failed.',
      ),
      requestId,
    };
  }
  if (failures.length === 0) return { kind: 'success', state, requestId };
  let lowest = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < failures.length; i++) {
    const item = failures[i] as { itemIdentifier?: unknown } | null;
    const id = item?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? options.indexBySequenceNumber.get(id) : undefined;
    if (index === undefined) {
      return {
        kind: 'error',
        error: new InvalidFunctionResponseError(
          `batchItemFailures[${i}].itemIdentifier ${JSON.stringify(id ?? null)} is empty or not a sequence number of this batch; Lambda treats the whole batch as failed.`,
        ),
        requestId,
      };
    }
    if (index < lowest) lowest = index;
  }
  return { kind: 'partial', failedIndex: lowest, state, requestId };
}
