/**
 * Metric definitions: validated once, compiled into index-based tables the hot loop uses without any
 * lookup by name. A bad configuration throws one ConfigError listing every problem with its path.
 */
import { formatDurationLabel, parseDurationMs } from './duration.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import type { AggregateName, DynamoDbEventName, MetricKind, MetricSource, TimeFormat } from './types.js';

/** Bounded so a group key stays small and a DynamoDB key (pk <= 2048 bytes) stays valid. */
export const MAX_DIMENSIONS = 8;
export const MAX_METRICS = 64;
export const MAX_WINDOWS_PER_METRIC = 6;
export const MIN_WINDOW_MS = 1_000;
export const MAX_WINDOW_MS = 7 * 86_400_000;
export const DEFAULT_ALLOWED_LATENESS_MS = 5 * 60_000;
export const DEFAULT_FUTURE_SKEW_MS = 60_000;
/**
 * Upper bounds of the durations (checked at cold start, so a huge one cannot fail later at write time):
 * lateness up to Kinesis's longest retention (365 days), so a replay from the stream can still count;
 * future skew up to a day (clock drift, not scheduling); retention up to ten years of TTL.
 */
export const MAX_ALLOWED_LATENESS_MS = 365 * 86_400_000;
export const MAX_FUTURE_SKEW_MS = 86_400_000;
export const MAX_RETENTION_MS = 3_650 * 86_400_000;
export const DEFAULT_MAX_GROUPS_PER_WINDOW = 10_000;
export const MAX_GROUPS_PER_WINDOW_LIMIT = 1_000_000;
/** Default retention: 1,440 windows (a day of 1m buckets, 60 days of 1h ones), at least one day. */
export const DEFAULT_RETENTION_WINDOWS = 1_440;
const MIN_DEFAULT_RETENTION_MS = 86_400_000;
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;
const PATH_PATTERN = /^[^.]+(\.[^.]+)*$/;
const AGGREGATES: ReadonlySet<string> = new Set([
  'count',
  'sum',
  'min',
  'max',
  'mean',
  'distinct',
  'p50',
  'p90',
  'p95',
  'p99',
]);
const QUANTILE_OF: Readonly<Record<string, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
const EVENT_NAMES: ReadonlySet<string> = new Set(['INSERT', 'MODIFY', 'REMOVE']);
const TIME_FORMATS: ReadonlySet<string> = new Set(['iso8601', 'epoch_s', 'epoch_ms']);
const SOURCES: ReadonlySet<string> = new Set(['kinesis', 'dynamodb', 'both']);
const KINDS: ReadonlySet<string> = new Set(['events', 'state']);
/** Aggregates a `state` metric keeps as levels (mean = sum / count at read time). */
const STATE_AGGREGATES: ReadonlySet<string> = new Set(['count', 'sum', 'mean']);
/** Keys about time windows, which a `state` metric (one level per group) does not have. */
const WINDOW_KEYS = ['windows', 'eventTime', 'allowedLateness', 'futureSkew', 'retention', 'maxGroupsPerWindow'];
/** Most attributes one `changed` clause may name. */
export const MAX_CHANGED_ATTRIBUTES = 16;

export const FilterOp = { Equals: 0, In: 1, Exists: 2, NotExists: 3, EventName: 4, Changed: 5 } as const;
export type FilterOp = (typeof FilterOp)[keyof typeof FilterOp];

export const TimeFormatCode = { Iso8601: 0, EpochSeconds: 1, EpochMillis: 2 } as const;

/** A scalar a filter compares with, pre-encoded for byte comparison. */
export interface FilterValue {
  kind: 'string' | 'number' | 'boolean' | 'null';
  text: string;
  bytes: Uint8Array;
  number: number;
  boolean: boolean;
}

export interface CompiledFilter {
  op: FilterOp;
  /** Index into CompiledConfig.paths, or -1 for eventName filters. */
  path: number;
  values: FilterValue[];
  /** Bit mask of INSERT=1, MODIFY=2, REMOVE=4 for eventName filters. */
  eventNameMask: number;
  /** For `changed` filters: the attributes compared between the old and the new image, as key lists. */
  changedPaths: string[][];
}

export interface CompiledWindow {
  label: string;
  sizeMs: number;
  ttlSeconds: number;
}

/**
 * The one "window" of a `state` metric's level items: not a time window (size 0, never expires). Its
 * items hold the current level of each group.
 */
export const LEVEL_WINDOW: CompiledWindow = Object.freeze({ label: 'level', sizeMs: 0, ttlSeconds: 0 });

export interface CompiledMetric {
  index: number;
  name: string;
  kind: MetricKind;
  source: MetricSource;
  acceptsJson: boolean;
  acceptsImage: boolean;
  filters: CompiledFilter[];
  eventTimePath: number;
  eventTimeFormat: number;
  dimensionNames: string[];
  dimensionPaths: Int32Array;
  valuePath: number;
  distinctPath: number;
  aggregates: AggregateName[];
  needsValue: boolean;
  hasMinMax: boolean;
  hasDistinct: boolean;
  hasQuantiles: boolean;
  quantiles: number[];
  /** Windows sorted from the finest to the coarsest; empty for a `state` metric (see LEVEL_WINDOW). */
  windows: CompiledWindow[];
  allowedLatenessMs: number;
  futureSkewMs: number;
  maxGroupsPerWindow: number;
  /** Whether the config sets maxGroupsPerWindow: only then does the sink cap groups (by persisted admissions). */
  capsGroups: boolean;
}

export interface CompiledConfig {
  metrics: CompiledMetric[];
  /** Every field path any metric reads, each once: `paths[i]` is the list of keys from the root. */
  paths: string[][];
  pathTexts: string[];
}

const encoder = new TextEncoder();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function filterValue(value: unknown): FilterValue | undefined {
  if (typeof value === 'string')
    return { kind: 'string', text: value, bytes: encoder.encode(value), number: Number.NaN, boolean: false };
  if (typeof value === 'number' && Number.isFinite(value))
    return { kind: 'number', text: String(value), bytes: encoder.encode(String(value)), number: value, boolean: false };
  if (typeof value === 'boolean')
    return {
      kind: 'boolean',
      text: String(value),
      bytes: encoder.encode(String(value)),
      number: Number.NaN,
      boolean: value,
    };
  if (value === null)
    return { kind: 'null', text: 'null', bytes: encoder.encode('null'), number: Number.NaN, boolean: false };
  return undefined;
}

/**
 * Validates a parsed config file (JSON or YAML) and compiles it.
 * @throws ConfigError listing every problem, each with its path in the config.
 * @example
 * const compiled = compileConfig({ metrics: [{ name: 'views', aggregates: ['count'], windows: ['1m'] }] });
 */
export function compileConfig(input: unknown, sourceName = 'configuration'): CompiledConfig {
  const problems: ConfigProblem[] = [];
  const problem = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  const paths: string[][] = [];
  const pathTexts: string[] = [];
  const pathIndex = new Map<string, number>();
  const internPath = (text: string): number => {
    let index = pathIndex.get(text);
    if (index === undefined) {
      index = paths.length;
      paths.push(text.split('.'));
      pathTexts.push(text);
      pathIndex.set(text, index);
    }
    return index;
  };
  const fieldPath = (value: unknown, at: string): number => {
    if (typeof value !== 'string' || !PATH_PATTERN.test(value)) {
      problem(at, `must be a dotted field path such as "user.id" (got ${JSON.stringify(value)})`);
      return -1;
    }
    return internPath(value);
  };
  const duration = (value: unknown, at: string, fallback: number, maxMs: number): number => {
    if (value === undefined) return fallback;
    const ms = typeof value === 'string' ? parseDurationMs(value) : Number.NaN;
    if (Number.isNaN(ms)) {
      problem(at, `must be a duration such as "30s", "5m", "1h" or "7d" (got ${JSON.stringify(value)})`);
      return fallback;
    }
    if (ms > maxMs) {
      problem(at, `must be at most ${formatDurationLabel(maxMs)} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return ms;
  };
  const onlyKeys = (value: Record<string, unknown>, at: string, allowed: ReadonlyArray<string>): void => {
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) problem(`${at}.${key}`, `unknown key (expected ${allowed.join(', ')})`);
  };

  if (!isRecord(input)) {
    throw new ConfigError([{ path: '(root)', message: 'must be an object with a "metrics" list' }], sourceName);
  }
  const rawMetrics = input.metrics;
  if (!Array.isArray(rawMetrics) || rawMetrics.length === 0) {
    throw new ConfigError([{ path: 'metrics', message: 'must be a non-empty list of metric definitions' }], sourceName);
  }
  if (rawMetrics.length > MAX_METRICS) problem('metrics', `at most ${MAX_METRICS} metrics (got ${rawMetrics.length})`);
  for (const key of Object.keys(input)) {
    if (key !== 'metrics') problem(key, 'unknown top-level key (expected only "metrics")');
  }

  const metrics: CompiledMetric[] = [];
  const names = new Set<string>();
  const knownKeys = new Set([
    'name',
    'kind',
    'source',
    'filter',
    'eventTime',
    'dimensions',
    'value',
    'distinctField',
    'aggregates',
    'windows',
    'allowedLateness',
    'futureSkew',
    'retention',
    'maxGroupsPerWindow',
    'description',
  ]);

  for (let m = 0; m < rawMetrics.length; m++) {
    const at = `metrics[${m}]`;
    const raw: unknown = rawMetrics[m];
    if (!isRecord(raw)) {
      problem(at, 'must be an object');
      continue;
    }
    for (const key of Object.keys(raw)) if (!knownKeys.has(key)) problem(`${at}.${key}`, 'unknown key');

    const name = raw.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      problem(
        `${at}.name`,
        'must start with a letter and use only letters, digits, "_", ".", ":" or "-" (at most 128 characters)',
      );
    } else if (names.has(name)) {
      problem(`${at}.name`, `duplicate metric name "${name}"`);
    } else {
      names.add(name);
    }

    const kind = (raw.kind ?? 'events') as MetricKind;
    if (!KINDS.has(kind)) problem(`${at}.kind`, 'must be "events" (events per window) or "state" (items per group)');
    const isState = kind === 'state';
    const source = (raw.source ?? (isState ? 'dynamodb' : 'kinesis')) as MetricSource;
    if (!SOURCES.has(source)) problem(`${at}.source`, 'must be "kinesis", "dynamodb" or "both"');
    if (isState) {
      if (source === 'kinesis')
        problem(`${at}.source`, 'a "state" metric follows DynamoDB items: set "source" to "dynamodb" (or "both")');
      for (const key of WINDOW_KEYS)
        if (raw[key] !== undefined)
          problem(
            `${at}.${key}`,
            'a "state" metric keeps one level per group, not time windows: remove it (count changes per window with a separate "events" metric)',
          );
      if (raw.distinctField !== undefined)
        problem(`${at}.distinctField`, 'a "state" metric has no distinct count: remove it');
    }

    const filters: CompiledFilter[] = [];
    if (raw.filter !== undefined && !Array.isArray(raw.filter)) problem(`${at}.filter`, 'must be a list of clauses');
    const rawFilters = Array.isArray(raw.filter) ? raw.filter : [];
    for (let f = 0; f < rawFilters.length; f++) {
      const fat = `${at}.filter[${f}]`;
      const clause: unknown = rawFilters[f];
      if (!isRecord(clause)) {
        problem(fat, 'must be an object such as {"field": "type", "equals": "page_view"}');
        continue;
      }
      if (clause.eventName !== undefined) {
        onlyKeys(clause, fat, ['eventName']);
        const list = Array.isArray(clause.eventName) ? clause.eventName : [clause.eventName];
        let mask = 0;
        for (const e of list) {
          if (typeof e !== 'string' || !EVENT_NAMES.has(e))
            problem(`${fat}.eventName`, `must list INSERT, MODIFY or REMOVE (got ${JSON.stringify(e)})`);
          else mask |= e === 'INSERT' ? 1 : e === 'MODIFY' ? 2 : 4;
        }
        if (source === 'kinesis')
          problem(`${fat}.eventName`, 'only applies to DynamoDB records: set "source" to "dynamodb" or "both"');
        if (isState)
          problem(`${fat}.eventName`, 'a "state" metric follows every change type itself: remove this clause');
        filters.push({ op: FilterOp.EventName, path: -1, values: [], eventNameMask: mask, changedPaths: [] });
        continue;
      }
      if (clause.changed !== undefined) {
        const list = clause.changed;
        const changedPaths: string[][] = [];
        if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHANGED_ATTRIBUTES)
          problem(
            `${fat}.changed`,
            `must list 1 to ${MAX_CHANGED_ATTRIBUTES} attribute names, e.g. ["status"] (got ${JSON.stringify(list)})`,
          );
        else
          for (let k = 0; k < list.length; k++) {
            const name: unknown = list[k];
            if (typeof name !== 'string' || !PATH_PATTERN.test(name))
              problem(`${fat}.changed[${k}]`, `must be an attribute name or dotted path (got ${JSON.stringify(name)})`);
            else changedPaths.push(name.split('.'));
          }
        if (Object.keys(clause).length !== 1) problem(fat, '"changed" stands alone in its clause');
        if (source === 'kinesis')
          problem(`${fat}.changed`, 'only applies to DynamoDB records: set "source" to "dynamodb" or "both"');
        if (isState)
          problem(`${fat}.changed`, 'a "state" metric already follows changes of its dimensions: remove this clause');
        filters.push({ op: FilterOp.Changed, path: -1, values: [], eventNameMask: 0, changedPaths });
        continue;
      }
      onlyKeys(clause, fat, ['field', 'equals', 'in', 'exists']);
      const path = fieldPath(clause.field, `${fat}.field`);
      const ops = ['equals', 'in', 'exists'].filter((k) => clause[k] !== undefined);
      if (ops.length !== 1) {
        problem(fat, 'needs exactly one of "equals", "in", "exists" (or an "eventName" or "changed" list)');
        continue;
      }
      if (ops[0] === 'equals') {
        const v = filterValue(clause.equals);
        if (!v) problem(`${fat}.equals`, 'must be a string, a finite number, a boolean or null');
        else filters.push({ op: FilterOp.Equals, path, values: [v], eventNameMask: 0, changedPaths: [] });
      } else if (ops[0] === 'in') {
        if (!Array.isArray(clause.in) || clause.in.length === 0) {
          problem(`${fat}.in`, 'must be a non-empty list of scalars');
          continue;
        }
        const values: FilterValue[] = [];
        for (let k = 0; k < clause.in.length; k++) {
          const v = filterValue(clause.in[k]);
          if (!v) problem(`${fat}.in[${k}]`, 'must be a string, a finite number, a boolean or null');
          else values.push(v);
        }
        filters.push({ op: FilterOp.In, path, values, eventNameMask: 0, changedPaths: [] });
      } else {
        if (typeof clause.exists !== 'boolean') problem(`${fat}.exists`, 'must be true or false');
        filters.push({
          op: clause.exists === false ? FilterOp.NotExists : FilterOp.Exists,
          path,
          values: [],
          eventNameMask: 0,
          changedPaths: [],
        });
      }
    }

    let eventTimePath = -1;
    let eventTimeFormat: number = TimeFormatCode.Iso8601;
    if (raw.eventTime !== undefined) {
      if (!isRecord(raw.eventTime)) {
        problem(`${at}.eventTime`, 'must be an object such as {"field": "ts", "format": "iso8601"}');
      } else {
        onlyKeys(raw.eventTime, `${at}.eventTime`, ['field', 'format']);
        eventTimePath = fieldPath(raw.eventTime.field, `${at}.eventTime.field`);
        const format = (raw.eventTime.format ?? 'iso8601') as TimeFormat;
        if (!TIME_FORMATS.has(format)) problem(`${at}.eventTime.format`, 'must be "iso8601", "epoch_s" or "epoch_ms"');
        eventTimeFormat =
          format === 'epoch_s'
            ? TimeFormatCode.EpochSeconds
            : format === 'epoch_ms'
              ? TimeFormatCode.EpochMillis
              : TimeFormatCode.Iso8601;
      }
    }

    const dimensionNames: string[] = [];
    const dimensionPaths: number[] = [];
    if (raw.dimensions !== undefined) {
      if (!Array.isArray(raw.dimensions)) problem(`${at}.dimensions`, 'must be a list of field paths');
      else {
        if (raw.dimensions.length > MAX_DIMENSIONS)
          problem(`${at}.dimensions`, `at most ${MAX_DIMENSIONS} dimensions (got ${raw.dimensions.length})`);
        for (let d = 0; d < raw.dimensions.length; d++) {
          const p = fieldPath(raw.dimensions[d], `${at}.dimensions[${d}]`);
          if (p >= 0) {
            if (dimensionNames.includes(raw.dimensions[d] as string)) problem(`${at}.dimensions[${d}]`, 'listed twice');
            dimensionNames.push(raw.dimensions[d] as string);
            dimensionPaths.push(p);
          }
        }
      }
    }

    const aggregates: AggregateName[] = [];
    if (!Array.isArray(raw.aggregates) || raw.aggregates.length === 0) {
      problem(
        `${at}.aggregates`,
        'must be a non-empty list of count, sum, min, max, mean, distinct, p50, p90, p95, p99',
      );
    } else {
      for (let a = 0; a < raw.aggregates.length; a++) {
        const agg: unknown = raw.aggregates[a];
        if (isState && typeof agg === 'string' && AGGREGATES.has(agg) && !STATE_AGGREGATES.has(agg))
          problem(
            `${at}.aggregates[${a}]`,
            `a "state" metric keeps count, sum and mean levels (got ${JSON.stringify(agg)})`,
          );
        else if (typeof agg !== 'string' || !AGGREGATES.has(agg))
          problem(
            `${at}.aggregates[${a}]`,
            `unknown aggregate ${JSON.stringify(agg)}; use count, sum, min, max, mean, distinct, p50, p90, p95 or p99`,
          );
        else if (!aggregates.includes(agg as AggregateName)) aggregates.push(agg as AggregateName);
      }
    }
    const quantiles = aggregates.filter((a) => a in QUANTILE_OF).map((a) => QUANTILE_OF[a]);
    const needsValue =
      aggregates.some((a) => a === 'sum' || a === 'min' || a === 'max' || a === 'mean') || quantiles.length > 0;
    const valuePath = raw.value === undefined ? -1 : fieldPath(raw.value, `${at}.value`);
    if (needsValue && raw.value === undefined)
      problem(
        `${at}.value`,
        'is required by sum, min, max, mean and quantile aggregates: name the numeric field to aggregate',
      );
    const hasDistinct = aggregates.includes('distinct');
    const distinctPath = raw.distinctField === undefined ? -1 : fieldPath(raw.distinctField, `${at}.distinctField`);
    if (hasDistinct && raw.distinctField === undefined)
      problem(
        `${at}.distinctField`,
        'is required by the "distinct" aggregate: name the field whose distinct values to count',
      );

    const windows: CompiledWindow[] = [];
    const retention = raw.retention;
    if (retention !== undefined && !isRecord(retention))
      problem(`${at}.retention`, 'must map window labels to durations, e.g. {"1m": "2d"}');
    if (isState) {
      // No windows: the level items use LEVEL_WINDOW.
    } else if (!Array.isArray(raw.windows) || raw.windows.length === 0) {
      problem(`${at}.windows`, 'must be a non-empty list of window sizes such as ["1m", "5m", "1h"]');
    } else {
      if (raw.windows.length > MAX_WINDOWS_PER_METRIC)
        problem(`${at}.windows`, `at most ${MAX_WINDOWS_PER_METRIC} window sizes`);
      for (let w = 0; w < raw.windows.length; w++) {
        const text: unknown = raw.windows[w];
        const sizeMs = typeof text === 'string' ? parseDurationMs(text) : Number.NaN;
        if (Number.isNaN(sizeMs) || sizeMs < MIN_WINDOW_MS || sizeMs > MAX_WINDOW_MS) {
          problem(`${at}.windows[${w}]`, `must be a duration from 1s to 7d such as "1m" (got ${JSON.stringify(text)})`);
          continue;
        }
        if (windows.some((x) => x.sizeMs === sizeMs)) {
          problem(`${at}.windows[${w}]`, 'the same window size is listed twice');
          continue;
        }
        const label = formatDurationLabel(sizeMs);
        const fallbackTtl = Math.max(MIN_DEFAULT_RETENTION_MS, sizeMs * DEFAULT_RETENTION_WINDOWS);
        const rawTtl = isRecord(retention) ? (retention[text as string] ?? retention[label]) : undefined;
        const ttlMs = duration(rawTtl, `${at}.retention.${text as string}`, fallbackTtl, MAX_RETENTION_MS);
        if (ttlMs < sizeMs) problem(`${at}.retention.${text as string}`, 'must be at least one window long');
        windows.push({ label, sizeMs, ttlSeconds: Math.ceil(ttlMs / 1000) });
      }
      if (isRecord(retention)) {
        for (const key of Object.keys(retention)) {
          if (!raw.windows.includes(key) && !windows.some((w) => w.label === key))
            problem(`${at}.retention.${key}`, 'names a window size the metric does not list');
        }
      }
    }
    windows.sort((a, b) => a.sizeMs - b.sizeMs);

    let maxGroupsPerWindow = DEFAULT_MAX_GROUPS_PER_WINDOW;
    if (raw.maxGroupsPerWindow !== undefined) {
      const v = raw.maxGroupsPerWindow;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_GROUPS_PER_WINDOW_LIMIT)
        problem(`${at}.maxGroupsPerWindow`, `must be an integer from 1 to ${MAX_GROUPS_PER_WINDOW_LIMIT}`);
      else maxGroupsPerWindow = v;
    }

    metrics.push({
      index: metrics.length,
      name: typeof name === 'string' ? name : `metrics[${m}]`,
      kind: isState ? 'state' : 'events',
      source,
      acceptsJson: source !== 'dynamodb',
      acceptsImage: source !== 'kinesis',
      filters,
      eventTimePath,
      eventTimeFormat,
      dimensionNames,
      dimensionPaths: Int32Array.from(dimensionPaths),
      valuePath,
      distinctPath,
      aggregates,
      needsValue,
      hasMinMax: aggregates.includes('min') || aggregates.includes('max'),
      hasDistinct,
      hasQuantiles: quantiles.length > 0,
      quantiles,
      windows,
      allowedLatenessMs: duration(
        raw.allowedLateness,
        `${at}.allowedLateness`,
        DEFAULT_ALLOWED_LATENESS_MS,
        MAX_ALLOWED_LATENESS_MS,
      ),
      futureSkewMs: duration(raw.futureSkew, `${at}.futureSkew`, DEFAULT_FUTURE_SKEW_MS, MAX_FUTURE_SKEW_MS),
      maxGroupsPerWindow,
      capsGroups: raw.maxGroupsPerWindow !== undefined,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, sourceName);
  return { metrics, paths, pathTexts };
}

export type { DynamoDbEventName };
