/**
 * Read API for the dashboard: an API Gateway HTTP API (payload format 2.0) in front of CounterReader.
 *
 *   GET /                     the dashboard page
 *   GET /api/assets/<name>    its script, style sheet and uPlot (under /api/ so one route covers them)
 *   GET /api/metrics          { metrics, nowMs, windowFlush }: in window flush mode each window says how
 *                             often it is written and how old it can be (writtenEverySeconds,
 *                             maxAgeSeconds), windowFlush the schedule; else null
 *   GET /api/series?metric=&window=&dims=a|b&from=&to=
 *   GET /api/rolling?metric=&dims=&minutes=1|5|15|60
 *   GET /api/top?metric=&window=&start=&limit=&dimension=
 *   GET /api/rollup?metric=&window=&start=&dimension=
 *   GET /api/window?metric=&window=&start=&limit=&dimension=   { top, rollup } of one window from one read
 *   GET /api/stats?metric=&from=&to=
 *   GET /api/auth-config      how the dashboard signs in: { mode, issuer, clientId, scopes } (public values)
 *
 * Authentication is not done here: deployed, API Gateway's JWT authorizer guards every route except the
 * {@link isPublicPath} ones (template.yaml); locally, src/local/read-server.ts runs the same check first.
 *
 * Times are epoch milliseconds or ISO-8601. `dims` lists the metric's dimension values in its declared
 * order, separated by `|`; a literal `|`, `#` or `%` in a value is written `%7C`, `%23`, `%25` (URL-encoded
 * once more: `%257C`). A bad parameter answers 400 with `{ error, parameter, message, allowed? }`.
 * The deployed entry point is src/handlers/read-api.ts; the local read server (src/local/read-server.ts)
 * serves the same routes through {@link createReadApiHandler}.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { DashboardAsset } from '../dashboard/files.js';
import type { WindowFlushSchedule } from '../core/types.js';
import { ALL_METRICS } from '../sink/layout.js';
import type { CounterReader } from './counter-reader.js';
import { ROLLING_MINUTES, ReadArgumentError, type MetricSummary, type RollingMinutes } from './types.js';
import { flushIntervalSeconds, windowCadence } from './window-cadence.js';

/** Default span of a series when `from` is absent: this many windows before `to`. */
export const DEFAULT_SERIES_WINDOWS = 60;
export const DEFAULT_TOP_LIMIT = 10;
export const DEFAULT_STATS_SPAN_MS = 3_600_000;
const DIMENSION_SEPARATOR = '|';
const ROUTES = [
  '/',
  '/favicon.ico',
  '/api/assets/<name>',
  '/api/metrics',
  '/api/series',
  '/api/rolling',
  '/api/top',
  '/api/rollup',
  '/api/window',
  '/api/stats',
  '/api/levels',
  '/api/auth-config',
];

/**
 * The routes that need no token: the page, its static files and the sign-in settings, none of which holds
 * counter data (a browser sends no bearer token when it navigates to the page). template.yaml declares
 * exactly these with AuthorizationType NONE.
 */
export function isPublicPath(path: string): boolean {
  return (
    path === '/' ||
    path === '/index.html' ||
    path === '/api/auth-config' ||
    path === '/favicon.ico' ||
    path.startsWith('/api/assets/')
  );
}

/** How the dashboard signs in; all public values (a public client has no secret). */
export interface ReadApiAuthSettings {
  /** `JWT`: data routes need a bearer token from `issuer`; `NONE`: open. */
  readonly mode: 'JWT' | 'NONE';
  readonly issuer?: string;
  readonly clientId?: string;
  readonly scopes?: string;
}

export interface ReadApiDeps {
  reader: CounterReader;
  /** Dashboard files by name; `index.html` is served at `/`. */
  assets: Readonly<Record<string, DashboardAsset>>;
  /** Injected so tests and the dashboard's "now" agree; defaults to Date.now. */
  clock?: () => number;
  logger?: Logger;
  /** Served at /api/auth-config; default `{ mode: 'NONE' }`. */
  auth?: ReadApiAuthSettings;
  /**
   * Which sources feed the table right now, when the caller knows (the local runner): source -> null when
   * live, or the reason it is not. The dashboard then says "not emulated" instead of "no data yet".
   */
  sourceStatus?: Readonly<Partial<Record<'kinesis' | 'dynamodb', string | null>>>;
  /**
   * Window flush mode, as the analytics function runs it (deployed: the read function's WINDOW_FLUSH*
   * variables, which template.yaml sets from the same parameters; locally: the same, from the template).
   * The dashboard then says how far behind a coarse window can be. Absent: every batch writes every window.
   */
  windowFlush?: WindowFlushSchedule;
}

export type ReadApiHandler = middy.MiddyfiedHandler<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context
>;

type Query = Readonly<Record<string, string | undefined>>;

/**
 * Builds the Middy-wrapped handler. `deps` may be a factory, called once on the first request, so that
 * importing this module neither reads the environment nor creates clients.
 * @example
 * const handler = createReadApiHandler({ reader, assets: DASHBOARD_ASSETS });
 * const res = await handler(event, context); // { statusCode: 200, body: '{"metrics":[...]}' }
 */
export function createReadApiHandler(
  deps: ReadApiDeps | (() => ReadApiDeps),
  logger: Logger = new Logger({ serviceName: 'streamtally' }),
): ReadApiHandler {
  let resolved: ReadApiDeps | undefined = typeof deps === 'function' ? undefined : deps;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async (event) => {
      try {
        resolved ??= (deps as () => ReadApiDeps)();
      } catch (err) {
        logger.error('read API is misconfigured', err as Error);
        return json(500, { error: 'misconfigured', message: err instanceof Error ? err.message : String(err) });
      }
      return routeReadApi(resolved, event, logger);
    });
}

/** Answers one request; never throws. Exported for the local read server and tests. */
export async function routeReadApi(
  deps: ReadApiDeps,
  event: APIGatewayProxyEventV2,
  logger?: Logger,
): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = stripStage(event.rawPath ?? '/', event.requestContext?.stage);
  const query: Query = event.queryStringParameters ?? {};
  const now = (deps.clock ?? Date.now)();
  if (method !== 'GET' && method !== 'HEAD')
    return json(405, { error: 'method_not_allowed', message: `Only GET is served (got ${method}).` }, { allow: 'GET' });
  try {
    if (path === '/' || path === '/index.html') return asset(deps, 'index.html');
    if (path.startsWith('/api/assets/')) return asset(deps, path.slice('/api/assets/'.length));
    if (path === '/favicon.ico' || path === '/favicon.svg') return asset(deps, 'favicon.svg');
    switch (path) {
      case '/api/auth-config':
        return json(200, deps.auth ?? { mode: 'NONE' });
      case '/api/metrics':
        return json(200, {
          metrics: withCadence(withLiveness(deps.reader.metrics(), deps.sourceStatus), deps.windowFlush),
          nowMs: now,
          windowFlush: deps.windowFlush
            ? { ...deps.windowFlush, intervalSeconds: flushIntervalSeconds(deps.windowFlush) ?? null }
            : null,
        });
      case '/api/series':
        return json(200, await series(deps.reader, query, now));
      case '/api/rolling':
        return json(200, await rolling(deps.reader, query, now));
      case '/api/top':
        return json(200, await top(deps.reader, query, now));
      case '/api/rollup':
        return json(200, await rollup(deps.reader, query, now));
      case '/api/window':
        return json(200, await windowView(deps.reader, query, now));
      case '/api/stats':
        return json(200, await stats(deps.reader, query, now));
      case '/api/levels':
        return json(200, { ...(await deps.reader.levels(metricOf(deps.reader, query).name)), nowMs: now });
      default:
        return json(404, { error: 'not_found', message: `No route ${path}.`, routes: ROUTES });
    }
  } catch (err) {
    if (err instanceof ReadArgumentError) {
      return json(400, {
        error: 'bad_request',
        parameter: err.parameter,
        message: err.message,
        ...(err.allowed ? { allowed: err.allowed } : {}),
      });
    }
    (deps.logger ?? logger)?.error('read failed', { path, query, error: err as Error });
    const requestId = event.requestContext?.requestId;
    return json(500, {
      error: 'internal',
      message: `Reading the counters failed; the function log has the cause (request id ${requestId ?? 'unknown'}).`,
    });
  }
}

function withLiveness(metrics: MetricSummary[], status: ReadApiDeps['sourceStatus']): MetricSummary[] {
  if (!status) return metrics;
  return metrics.map((m) => {
    const sources: Array<'kinesis' | 'dynamodb'> = m.source === 'both' ? ['kinesis', 'dynamodb'] : [m.source];
    const reasons = sources.map((s) => (s in status ? status[s] : 'no event source for it in the template'));
    const live = reasons.some((r) => r === null);
    return live ? { ...m, live } : { ...m, live, liveReason: reasons.filter((r) => r).join('; ') };
  });
}

function withCadence(metrics: MetricSummary[], schedule: WindowFlushSchedule | undefined): MetricSummary[] {
  if (!schedule) return metrics;
  return metrics.map((m) => ({
    ...m,
    windows: m.windows.map((w) => {
      const cadence = windowCadence(w.sizeMs, m.source, schedule);
      return cadence === undefined ? w : { ...w, ...cadence };
    }),
  }));
}

async function series(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const metric = metricOf(reader, query);
  const window = windowOf(metric, query);
  const toMs = timeParam(query, 'to', now);
  const fromMs = timeParam(query, 'from', toMs - DEFAULT_SERIES_WINDOWS * window.sizeMs);
  return reader.series(metric.name, window.label, dimsParam(metric, query), fromMs, toMs);
}

async function rolling(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const metric = metricOf(reader, query);
  if (metric.kind === 'state')
    throw new ReadArgumentError('metric', `Metric ${metric.name} is a level (kind "state"): read it with /api/levels.`);
  const raw = query.minutes ?? '5';
  const minutes = Number(raw) as RollingMinutes;
  if (!/^\d+$/.test(raw) || !ROLLING_MINUTES.includes(minutes)) {
    throw new ReadArgumentError(
      'minutes',
      `minutes must be one of ${ROLLING_MINUTES.join(', ')} (got ${JSON.stringify(raw)}).`,
      ROLLING_MINUTES,
    );
  }
  return reader.rolling(metric.name, dimsParam(metric, query), minutes, now);
}

async function top(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const { metric, window, startMs, dimensionIndex } = windowQuery(reader, query, now);
  return reader.top(metric.name, window.label, startMs, dimensionIndex, intParam(query, 'limit', DEFAULT_TOP_LIMIT));
}

async function rollup(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const { metric, window, startMs, dimensionIndex } = windowQuery(reader, query, now);
  return reader.rollup(metric.name, window.label, startMs, dimensionIndex);
}

/** Top (all dimensions, `limit`) and the roll-up to `dimension` of one window, from one read. */
async function windowView(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const { metric, window, startMs, dimensionIndex } = windowQuery(reader, query, now);
  return reader.windowView(
    metric.name,
    window.label,
    startMs,
    dimensionIndex,
    intParam(query, 'limit', DEFAULT_TOP_LIMIT),
  );
}

/** metric, window, start (default: the current window) and an optional dimension by name. */
function windowQuery(
  reader: CounterReader,
  query: Query,
  now: number,
): {
  metric: MetricSummary;
  window: { label: string; sizeMs: number };
  startMs: number;
  dimensionIndex: number | undefined;
} {
  const metric = metricOf(reader, query);
  const window = windowOf(metric, query);
  // Windows are tumbling buckets aligned to the epoch, so the current one starts at now rounded down.
  const startMs = timeParam(query, 'start', now - (now % window.sizeMs));
  let dimensionIndex: number | undefined;
  if (query.dimension !== undefined && query.dimension !== '') {
    dimensionIndex = metric.dimensions.indexOf(query.dimension);
    if (dimensionIndex < 0)
      throw new ReadArgumentError(
        'dimension',
        `Metric ${metric.name} has no dimension ${JSON.stringify(query.dimension)}.`,
        metric.dimensions,
      );
  }
  return { metric, window, startMs, dimensionIndex };
}

async function stats(reader: CounterReader, query: Query, now: number): Promise<unknown> {
  const name = query.metric === ALL_METRICS ? ALL_METRICS : metricOf(reader, query).name;
  const toMs = timeParam(query, 'to', now);
  const fromMs = timeParam(query, 'from', toMs - DEFAULT_STATS_SPAN_MS);
  return reader.stats(name, fromMs, toMs);
}

function metricOf(reader: CounterReader, query: Query): MetricSummary {
  const metrics = reader.metrics();
  const metric = metrics.find((m) => m.name === query.metric);
  if (!metric) {
    const what = query.metric === undefined ? 'metric is required' : `Unknown metric ${JSON.stringify(query.metric)}`;
    throw new ReadArgumentError(
      'metric',
      `${what}; use one of the configured metrics.`,
      metrics.map((m) => m.name),
    );
  }
  return metric;
}

function windowOf(metric: MetricSummary, query: Query): { label: string; sizeMs: number } {
  if (metric.kind === 'state')
    throw new ReadArgumentError('metric', `Metric ${metric.name} is a level (kind "state"): read it with /api/levels.`);
  if (query.window === undefined || query.window === '') return metric.windows[0];
  const window = metric.windows.find((w) => w.label === query.window);
  if (!window)
    throw new ReadArgumentError(
      'window',
      `Metric ${metric.name} has no window ${JSON.stringify(query.window)}.`,
      metric.windows.map((w) => w.label),
    );
  return window;
}

function dimsParam(metric: MetricSummary, query: Query): string[] {
  const raw = query.dims ?? '';
  const values =
    metric.dimensions.length === 0 && raw === '' ? [] : raw.split(DIMENSION_SEPARATOR).map(unescapeDimension);
  if (values.length !== metric.dimensions.length) {
    const shape = metric.dimensions.length === 0 ? 'no dims' : `dims=<${metric.dimensions.join('>|<')}>`;
    throw new ReadArgumentError(
      'dims',
      `Metric ${metric.name} needs ${metric.dimensions.length} dimension value(s): ${shape} (got ${values.length}).`,
      metric.dimensions,
    );
  }
  return values;
}

function unescapeDimension(value: string): string {
  return value.replace(/%7C/gi, '|').replace(/%23/g, '#').replace(/%25/g, '%');
}

function timeParam(query: Query, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = /^\d+$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ReadArgumentError(
      name,
      `${name} must be epoch milliseconds or an ISO-8601 time such as 2026-01-01T00:00:00Z (got ${JSON.stringify(raw)}).`,
    );
  return ms;
}

function intParam(query: Query, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw))
    throw new ReadArgumentError(name, `${name} must be a positive integer (got ${JSON.stringify(raw)}).`);
  return Number(raw);
}

function stripStage(path: string, stage: string | undefined): string {
  if (stage && stage !== '$default' && (path === '/' + stage || path.startsWith('/' + stage + '/')))
    return path.slice(stage.length + 1) || '/';
  return path;
}

function asset(deps: ReadApiDeps, name: string): APIGatewayProxyStructuredResultV2 {
  const file = Object.hasOwn(deps.assets, name) ? deps.assets[name] : undefined;
  if (!file)
    return json(404, {
      error: 'not_found',
      message: `No dashboard asset ${JSON.stringify(name)}.`,
      allowed: Object.keys(deps.assets),
    });
  return {
    statusCode: 200,
    headers: { 'content-type': file.contentType, 'cache-control': 'no-cache' },
    body: file.body,
  };
}

function json(
  statusCode: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extraHeaders },
    body: JSON.stringify(body),
  };
}
