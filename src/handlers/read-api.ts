/**
 * The read API function (template.yaml: ReadApiFunction, handler `read-api.handler`): the routes of
 * src/read/read-api.ts over the counters table, with the dashboard page. Table and metric definitions come
 * from src/config.ts, the loader the analytics function uses (the SSM parameter, when
 * STREAMTALLY_CONFIG_SSM_PARAMETER names one, is read once at cold start), on the first request; a bad
 * value answers 500 naming it and is logged. Authentication is API Gateway's JWT authorizer (template.yaml);
 * READ_API_AUTH, OIDC_ISSUER and OIDC_CLIENT_ID only tell the dashboard how to sign in; WINDOW_FLUSH and
 * its companions (src/config.ts loadWindowFlushSchedule) how old a coarse window can be.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { loadReadRuntimeConfig, loadRemoteMetricDefinitions } from '../config.js';
import { DASHBOARD_ASSETS } from '../dashboard/assets.js';
import { CounterReader } from '../read/counter-reader.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../sink/dynamodb-client.js';
import {
  createReadApiHandler,
  type ReadApiAuthSettings,
  type ReadApiDeps,
  type ReadApiHandler,
} from '../read/read-api.js';

const tracer = new Tracer({ serviceName: 'streamtally' });
// Kept, not thrown: the first request answers 500 with the message (see createReadApiHandler).
const remote = await loadRemoteMetricDefinitions(process.env, () => tracer.captureAWSv3Client(new SSMClient({}))).catch(
  (err: unknown) => err as Error,
);

function authFromEnvironment(env: NodeJS.ProcessEnv): ReadApiAuthSettings {
  if (env.READ_API_AUTH !== 'JWT') return { mode: 'NONE' };
  return { mode: 'JWT', issuer: env.OIDC_ISSUER, clientId: env.OIDC_CLIENT_ID, scopes: env.OIDC_SCOPES || 'openid' };
}

function depsFromEnvironment(): ReadApiDeps {
  if (remote instanceof Error) throw remote;
  const config = loadReadRuntimeConfig(process.env, remote);
  return {
    reader: new CounterReader({
      client: tracer.captureAWSv3Client(new DynamoDBClient({ ...DYNAMODB_CLIENT_SETTINGS })),
      tableName: config.countersTable,
      metrics: config.metrics,
      windowIndex: config.countersWindowIndex,
    }),
    assets: DASHBOARD_ASSETS,
    auth: authFromEnvironment(process.env),
    windowFlush: config.windowFlushSchedule,
  };
}

export const handler: ReadApiHandler = createReadApiHandler(depsFromEnvironment).use(
  captureLambdaHandler(tracer, { captureResponse: false }),
);
