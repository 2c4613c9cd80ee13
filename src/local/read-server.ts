/**
 * The read API and dashboard on a local HTTP server (127.0.0.1 only). Each request is turned into an
 * API Gateway HTTP API (2.0) event and answered by the same Middy handler the Lambda runs, so local and
 * deployed routes cannot drift; only the dashboard files come from disk (edit, reload) instead of the
 * embedded copy. With `auth`, requests to every route but the public ones (isPublicPath) first pass the
 * JWT check API Gateway's authorizer does when deployed (./auth/jwt-verifier.ts); a refusal answers 401
 * as API Gateway does, and the read handler never runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CompiledConfig } from '../core/metric-config.js';
import { loadReadRuntimeConfig } from '../config.js';
import { createReadApiHandler, isPublicPath, type ReadApiAuthSettings, type ReadApiDeps } from '../read/read-api.js';
import { JwtRejectedError, type JwtVerifier } from './auth/jwt-verifier.js';
import { CounterReader } from '../read/counter-reader.js';
import { createAwsClients } from './aws/aws-clients.js';
import { LOOPBACK, listenOnLoopback } from './aws/servers.js';
import { DASHBOARD_FILES, type DashboardAsset } from '../dashboard/files.js';
import { readFileSync } from 'node:fs';

/** Lambda's own limit for a request payload; the read API takes no body anyway. */
const MAX_URL_LENGTH = 8_192;

export interface ReadServerOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Default: loaded by src/config.ts from the environment, as the deployed read API does. */
  metrics?: CompiledConfig;
  /** 0 (default) picks a free port. */
  port?: number;
  clock?: () => number;
  logger?: Logger;
  /** Require a token (`npm start -- --auth`); default: open, as `npm start` is. */
  auth?: { verifier: JwtVerifier; settings: ReadApiAuthSettings };
  /** See ReadApiDeps.sourceStatus: which sources the local runner emulates, and why not the others. */
  sourceStatus?: ReadApiDeps['sourceStatus'];
  /** See ReadApiDeps.windowFlush (`npm start` reads it from the template's read function). */
  windowFlush?: ReadApiDeps['windowFlush'];
}

export interface ReadServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  stop(): Promise<void>;
}

/** Dashboard files read from disk at each request, so edits show on reload. */
function diskAssets(): Record<string, DashboardAsset> {
  const assets: Record<string, DashboardAsset> = {};
  for (const f of DASHBOARD_FILES) {
    Object.defineProperty(assets, f.name, {
      enumerable: true,
      get: () => ({ contentType: f.contentType, body: readFileSync(f.file(), 'utf8') }),
    });
  }
  return assets;
}

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'streamtally-local-read-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:streamtally-local-read-api',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/streamtally-local-read-api',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function toEvent(req: IncomingMessage, requestId: string, nowMs: number): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
  const query: Record<string, string> = {};
  // API Gateway joins repeated parameters with commas; the read API takes none twice.
  for (const [k, v] of url.searchParams) query[k] = k in query ? query[k] + ',' + v : v;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const method = req.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: req.headers.host ?? LOOPBACK,
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? LOOPBACK,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(nowMs).toISOString(),
      timeEpoch: nowMs,
    },
  };
}

/**
 * Starts the read API + dashboard on 127.0.0.1.
 * @example
 * const srv = await startReadServer({ client: clients.dynamodb, tableName: 'streamtally-counters' });
 * console.log(`dashboard: ${srv.url}/`);
 */
export async function startReadServer(options: ReadServerOptions): Promise<ReadServer> {
  const logger = options.logger ?? new Logger({ serviceName: 'streamtally', logLevel: 'WARN' });
  const reader = new CounterReader({
    client: options.client,
    tableName: options.tableName,
    metrics: options.metrics ?? loadReadRuntimeConfig({ COUNTERS_TABLE: options.tableName, ...process.env }).metrics,
  });
  const handler = createReadApiHandler(
    {
      reader,
      assets: diskAssets(),
      clock: options.clock,
      logger,
      auth: options.auth?.settings,
      sourceStatus: options.sourceStatus,
      windowFlush: options.windowFlush,
    },
    logger,
  );
  const auth = options.auth;

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if ((req.url ?? '').length > MAX_URL_LENGTH) {
      res.writeHead(414).end();
      return;
    }
    const requestId = randomUUID();
    if (auth && !isPublicPath(new URL(req.url ?? '/', `http://${LOOPBACK}`).pathname)) {
      try {
        await auth.verifier.verify(req.headers.authorization);
      } catch (err) {
        if (!(err instanceof JwtRejectedError)) throw err;
        // API Gateway's answer to a refused token: 401, {"message":"Unauthorized"}, and a WWW-Authenticate.
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`,
        });
        res.end(JSON.stringify({ message: 'Unauthorized' }));
        return;
      }
    }
    const result = await handler(toEvent(req, requestId, Date.now()), lambdaContext(requestId));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    res.writeHead(result.statusCode ?? 200, headers);
    res.end(req.method === 'HEAD' ? undefined : result.body);
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      logger.error('local read server failed a request', err as Error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal', message: 'see the server log' }));
    });
  });
  const port = await listenOnLoopback(server, options.port);
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// `npx tsx src/local/read-server.ts`: serve an existing table (DYNAMODB_ENDPOINT for a local server).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tableName = process.env.COUNTERS_TABLE ?? 'streamtally-counters';
  const { dynamodb } = createAwsClients({ endpoint: process.env.DYNAMODB_ENDPOINT });
  const port = Number(process.env.PORT ?? 8080);
  startReadServer({ client: dynamodb, tableName, port }).then(
    (srv) => console.log(`streamtally dashboard on ${srv.url}/ (table ${tableName})`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
