/**
 * Retries of transient AWS failures (throttling, timeouts, 5xx) with exponential backoff and full jitter,
 * bounded by a deadline (the Lambda time left).
 */

export const RETRY_BASE_DELAY_MS = 50;
export const RETRY_MAX_DELAY_MS = 2_000;

const RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
  'KMSThrottlingException',
  'SlowDown',
]);
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Whether an SDK or network error is worth retrying. */
export function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

export interface RetryOptions {
  /** Epoch ms after which no new attempt starts. */
  deadlineMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (err: unknown, attempt: number) => void;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` until it succeeds, a non-transient error occurs, or the next backoff would pass the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err)) throw err;
      const ceiling = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
      const delay = Math.floor(random() * ceiling);
      if (now() + delay >= options.deadlineMs) throw err;
      options.onRetry?.(err, attempt);
      await sleep(delay);
    }
  }
}

/** Runs `worker` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(
  items: ReadonlyArray<T>,
  limit: number,
  worker: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes: Promise<void>[] = [];
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await worker(items[i], i);
    }
  };
  for (let i = 0; i < Math.min(limit, items.length); i++) lanes.push(run());
  await Promise.all(lanes);
}
