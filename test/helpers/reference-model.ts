/**
 * An independent, deliberately plain implementation of the counting semantics (JSON.parse, objects, Maps),
 * used by tests as the oracle: after any delivery scenario, the counters table must equal this model.
 */
import type { MetricConfig, StreamtallyConfig } from '../../src/core/types.js';

export interface ModelCell {
  pk: string;
  sk: string;
  count: number;
  sum: number;
  min: number;
  max: number;
}

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
function durationMs(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * UNIT[m[2]];
}
function label(ms: number): string {
  for (const [u, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${u}`;
  return `${ms}ms`;
}
function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, key) ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}
function esc(v: string): string {
  return v.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\|/g, '%7C');
}

/** One JSON event as the test pushed it, with the arrival time Kinesis gave it. */
export interface ModelEvent {
  event: unknown;
  arrivalMs: number;
}

export function referenceCounters(
  config: StreamtallyConfig,
  events: ReadonlyArray<ModelEvent>,
): Map<string, ModelCell> {
  const cells = new Map<string, ModelCell>();
  for (const { event, arrivalMs } of events) {
    for (const metric of config.metrics as MetricConfig[]) {
      if ((metric.source ?? 'kinesis') === 'dynamodb') continue;
      if (!passes(metric, event)) continue;
      let t = arrivalMs;
      if (metric.eventTime) {
        const raw = get(event, metric.eventTime.field);
        if (raw !== undefined && raw !== null) {
          t =
            metric.eventTime.format === 'iso8601'
              ? Date.parse(String(raw))
              : metric.eventTime.format === 'epoch_s'
                ? Math.round(Number(raw) * 1000)
                : Math.round(Number(raw));
          if (Number.isNaN(t)) continue;
        }
      }
      const windows = (metric.windows ?? []).map((w) => durationMs(w, 0)).sort((a, b) => a - b);
      const finest = windows[0];
      if (arrivalMs > Math.floor(t / finest) * finest + finest + durationMs(metric.allowedLateness, 300_000)) continue;
      if (t > arrivalMs + durationMs(metric.futureSkew, 60_000)) continue;
      const needsValue = metric.aggregates.some((a) => a !== 'count' && a !== 'distinct');
      const value = metric.value ? get(event, metric.value) : undefined;
      if (needsValue && (typeof value !== 'number' || !Number.isFinite(value))) continue;
      const dims: string[] = [];
      let bad = false;
      for (const d of metric.dimensions ?? []) {
        const v = get(event, d);
        if (v === undefined || v === null) dims.push('__none__');
        else if (typeof v === 'object') bad = true;
        else dims.push(String(v));
      }
      if (bad) continue;
      for (const size of windows) {
        const start = Math.floor(t / size) * size;
        const pk = `${metric.name}#${dims.map(esc).join('|')}`;
        const sk = `${label(size)}#${new Date(start).toISOString()}`;
        const key = `${pk}\u0000${sk}`;
        let cell = cells.get(key);
        if (!cell) {
          cell = { pk, sk, count: 0, sum: 0, min: Infinity, max: -Infinity };
          cells.set(key, cell);
        }
        cell.count++;
        if (needsValue) {
          const v = value as number;
          cell.sum += v;
          cell.min = Math.min(cell.min, v);
          cell.max = Math.max(cell.max, v);
        }
      }
    }
  }
  return cells;
}

function passes(metric: MetricConfig, event: unknown): boolean {
  for (const f of metric.filter ?? []) {
    if (f.eventName) return false;
    const v = get(event, f.field as string);
    if (f.equals !== undefined && v !== f.equals) return false;
    if (f.in !== undefined && !f.in.includes(v as string)) return false;
    if (f.exists !== undefined && (v !== undefined) !== f.exists) return false;
  }
  return true;
}
