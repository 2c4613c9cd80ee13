/**
 * Lambda's side of one shard's tumbling window, for the window flush fault suites: the last successful
 * state, invocations, retries with that same state, bisection (BisectBatchOnFunctionError), final
 * invocations retried until they succeed, and stray redeliveries with an older state (a lost response).
 */
import { expect } from 'vitest';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';

type StreamRecord = StreamEvent['Records'][number];

export class WindowDriver<R extends StreamRecord> {
  state: Record<string, unknown> = {};
  invocations = 0;
  failures = 0;
  readonly errors: Error[] = [];

  constructor(
    private readonly handle: (event: StreamEvent) => Promise<StreamResponse>,
    private readonly shardId: string,
    private readonly window: { start: string; end: string },
    private readonly eventSourceARN?: string,
  ) {}

  private async invoke(records: R[], final: boolean): Promise<boolean> {
    const event: StreamEvent = {
      Records: records,
      window: this.window,
      // Lambda stores the state as JSON between invocations.
      state: JSON.parse(JSON.stringify(this.state)) as Record<string, unknown>,
      shardId: this.shardId,
      eventSourceARN: this.eventSourceARN,
      isFinalInvokeForWindow: final,
      isWindowTerminatedEarly: false,
    };
    this.invocations++;
    try {
      const response = await this.handle(event);
      expect(response.batchItemFailures).toEqual([]); // window flush mode never reports a partial batch
      expect(response.state).toBeTypeOf('object');
      this.state = response.state as Record<string, unknown>;
      return true;
    } catch (err) {
      this.failures++;
      this.errors.push(err as Error);
      return false;
    }
  }

  /** One batch, retried with the same state; with `bisect`, a failed batch is split in halves. */
  async deliver(records: R[], bisect = true, maxTries = 40): Promise<void> {
    const work = [records];
    for (let tries = 0; work.length > 0; tries++) {
      if (tries > maxTries) throw new Error(`batch never succeeded: ${this.errors.at(-1)?.message}`);
      const seg = work[0];
      if (await this.invoke(seg, false)) {
        work.shift();
        continue;
      }
      if (bisect && seg.length > 1) work.splice(0, 1, seg.slice(0, seg.length >> 1), seg.slice(seg.length >> 1));
    }
  }

  /** The final invocation: no records; Lambda holds the shard until it succeeds. */
  async close(maxTries = 40): Promise<void> {
    for (let tries = 0; tries < maxTries; tries++) if (await this.invoke([], true)) return;
    throw new Error(`final invocation never succeeded: ${this.errors.at(-1)?.message}`);
  }

  /** A stray redelivery of a batch with an older state (Lambda lost the response and retried). */
  async redeliver(records: R[], olderState: Record<string, unknown>): Promise<void> {
    const keep = this.state;
    this.state = olderState;
    await this.invoke(records, false);
    this.state = keep;
  }
}

/** `items` in consecutive slices of `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
