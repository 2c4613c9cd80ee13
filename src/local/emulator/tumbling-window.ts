/** Lambda tumbling windows: aligned to record arrival time, carried per shard. */

export interface WindowBounds {
  readonly startMs: number;
  readonly endMs: number;
}

/** The window a record that arrived at `arrivalMs` belongs to (windows start at multiples of the size since the epoch). */
export function windowFor(arrivalMs: number, windowMs: number): WindowBounds {
  const startMs = Math.floor(arrivalMs / windowMs) * windowMs;
  return { startMs, endMs: startMs + windowMs };
}

/** ISO-8601 as in Lambda's window events: whole seconds, `Z` (e.g. 2020-12-09T07:04:00Z). */
export function windowIso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export interface WindowEventFields {
  window: { start: string; end: string };
  state: Record<string, unknown>;
  shardId: string;
  eventSourceARN: string;
  isFinalInvokeForWindow: boolean;
  isWindowTerminatedEarly: boolean;
}

export function windowEventFields(
  bounds: WindowBounds,
  state: Record<string, unknown>,
  shardId: string,
  eventSourceArn: string,
  isFinal: boolean,
  terminatedEarly: boolean,
): WindowEventFields {
  return {
    window: { start: windowIso(bounds.startMs), end: windowIso(bounds.endMs) },
    state,
    shardId,
    eventSourceARN: eventSourceArn,
    isFinalInvokeForWindow: isFinal,
    isWindowTerminatedEarly: terminatedEarly,
  };
}
