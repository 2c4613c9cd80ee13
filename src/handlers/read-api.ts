/**
 * The read API function (template.yaml: ReadApiFunction, handler `read-api.handler`): the routes of
 * src/read/read-api.ts over the counters table, with the dashboard page. Table and metric definitions come
 * from src/config.ts, the loader the analytics function uses, on the first request (so importing this module
 * reads no environment); a bad value answers 500 naming it and is logged.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadReadRuntimeConfig } from '../config.js';
import { DASHBOARD_ASSETS } from '../dashboard/assets.js';
import { CounterReader } from '../read/counter-reader.js';
import { createReadApiHandler, type ReadApiDeps, type ReadApiHandler } from '../read/read-api.js';

function depsFromEnvironment(): ReadApiDeps {
  const config = loadReadRuntimeConfig();
  return {
    reader: new CounterReader({
      client: new DynamoDBClient({}),
      tableName: config.countersTable,
      metrics: config.metrics,
    }),
    assets: DASHBOARD_ASSETS,
  };
}

export const handler: ReadApiHandler = createReadApiHandler(depsFromEnvironment);
