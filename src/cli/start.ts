/**
 * `npm start`: the whole pipeline on one machine (src/local/local-stack.ts), with a live status line.
 * Bad arguments print the usage and exit 2; a start-up error exits 1; Ctrl-C stops everything and exits 0.
 */
import { resolve } from 'node:path';
import { loadMetricDefinitions } from '../config.js';
import { isLoopbackEndpoint, startLocalStack, type LocalStack } from '../local/local-stack.js';
import { loadTemplate } from '../local/template/template.js';
import { parseArgsOrExit, parsePositiveNumber, runCli, usageExit, type CommandSpec, type OptionSpec } from './args.js';
import { ProgressLine } from './progress.js';

const DEFAULT_RATE_PER_SEC = 20;
const DEFAULT_ORDERS_RATE_PER_SEC = 2;
const DEFAULT_DASHBOARD_PORT = 0;
const STATUS_REFRESH_MS = 1_000;
const FORCE_QUIT_AFTER_MS = 2_000;

const SPEC = {
  name: 'npm start --',
  summary:
    "Run streamtally locally: AWS-API servers, the template's resources, event-source emulation, a demo producer and the dashboard.",
  options: {
    'no-demo': {
      type: 'boolean',
      description: 'do not run the demo producer (push events yourself with npm run produce)',
    },
    rate: { type: 'string', valueName: 'N', description: `demo events per second (default ${DEFAULT_RATE_PER_SEC})` },
    'orders-rate': {
      type: 'string',
      valueName: 'N',
      description: `demo order changes per second into the orders table, when its stream runs (default ${DEFAULT_ORDERS_RATE_PER_SEC}; 0: none)`,
    },
    'orders-limit': {
      type: 'string',
      valueName: 'N',
      description:
        'stop the demo orders after N changes (default: no limit), e.g. to compare the dashboard with the table',
    },
    port: { type: 'string', valueName: 'PORT', description: 'dashboard port on 127.0.0.1 (default: a free port)' },
    'data-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'keep stream, table and queue data here between runs (default: in memory)',
    },
    endpoint: {
      type: 'string',
      valueName: 'URL',
      description: 'use a running LocalStack, moto_server or AWS endpoint instead of starting servers',
    },
    config: {
      type: 'string',
      valueName: 'FILE',
      description: 'metric definitions (JSON or YAML; default: streamtally.config.json)',
    },
    template: {
      type: 'string',
      valueName: 'FILE',
      description: 'SAM template to read resources and event sources from (default: template.yaml)',
    },
    'flush-interval': {
      type: 'string',
      valueName: 'SECONDS',
      description:
        "template parameter FlushIntervalSeconds: how old the dashboard may be (5, 20, 60, 300, 900; default the template's)",
    },
    'window-flush': {
      type: 'boolean',
      description: 'template parameter WindowFlush=true: carry deltas in tumbling-window state, fewer writes per event',
    },
    chaos: {
      type: 'string',
      valueName: 'N',
      description:
        'every Nth invocation crashes after the handler wrote its counters (response lost), to watch retries and bisection keep counters exact',
    },
    auth: {
      type: 'boolean',
      description:
        'require sign-in on the dashboard and read API: starts a local OIDC issuer on 127.0.0.1 and checks its JWTs as the deployed API Gateway authorizer does',
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: 'handler log level: DEBUG, INFO, WARN, ERROR (default WARN, to keep the terminal readable)',
    },
  },
  notes: ['Ctrl-C stops everything. Exit codes: 0 clean stop, 1 a start-up error, 2 bad arguments.'],
  examples: [
    'npm start',
    'npm start -- --auth',
    'npm start -- --no-demo --port 8080',
    'npm start -- --rate 200 --chaos 10',
    'npm start -- --endpoint http://127.0.0.1:4566   (a running LocalStack)',
  ],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgsOrExit(SPEC, process.argv.slice(2));
  const ratePerSec = values.rate === undefined ? DEFAULT_RATE_PER_SEC : parsePositiveNumber(values.rate, 'rate', true);
  const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    usageExit(SPEC, `--port must be a port number from 0 to 65535 (got ${values.port})`);
  const logLevel = (values['log-level'] ?? 'WARN').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'].includes(logLevel))
    usageExit(SPEC, `--log-level must be DEBUG, INFO, WARN or ERROR (got ${values['log-level']})`);
  const chaosEvery = values.chaos === undefined ? 0 : parsePositiveNumber(values.chaos, 'chaos');
  const ordersRate = values['orders-rate'];
  const ordersPerSec =
    ordersRate === undefined ? DEFAULT_ORDERS_RATE_PER_SEC : Number(ordersRate.trim() === '' ? Number.NaN : ordersRate);
  if (!(Number.isFinite(ordersPerSec) && ordersPerSec >= 0))
    usageExit(SPEC, `--orders-rate must be a number of changes per second, 0 or more (got ${ordersRate})`);
  const ordersLimit = values['orders-limit'] === undefined ? undefined : Number(values['orders-limit']);
  if (ordersLimit !== undefined && !(Number.isInteger(ordersLimit) && ordersLimit > 0))
    usageExit(SPEC, `--orders-limit must be a positive integer (got ${values['orders-limit']})`);
  if (values.endpoint !== undefined) {
    try {
      isLoopbackEndpoint(values.endpoint);
    } catch {
      usageExit(SPEC, `--endpoint must be a URL such as http://127.0.0.1:4566 (got ${values.endpoint})`);
    }
  }

  // Metric definitions first: a bad file fails here with every problem listed, before anything starts.
  const metrics = loadMetricDefinitions(values.config);
  const parameterOverrides: Record<string, string | number> = {};
  if (values['flush-interval'] !== undefined) {
    const seconds = Number(values['flush-interval']);
    if (!Number.isInteger(seconds) || seconds <= 0)
      usageExit(SPEC, `--flush-interval must be a whole number of seconds (got ${values['flush-interval']})`);
    parameterOverrides.FlushIntervalSeconds = seconds;
  }
  if (values['window-flush']) parameterOverrides.WindowFlush = 'true';
  let template;
  try {
    template = loadTemplate(values.template ? resolve(values.template) : undefined, { parameterOverrides });
  } catch (err) {
    if (values['flush-interval'] !== undefined && /FlushIntervalSeconds/.test((err as Error).message))
      usageExit(SPEC, (err as Error).message);
    throw err;
  }

  let stopping = false;
  // Filled in once started; the signal handler may run before that.
  const running: { stack?: LocalStack; timer?: NodeJS.Timeout } = {};
  const status = new ProgressLine({ output: process.stderr });
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (running.timer) clearInterval(running.timer);
    status.flush();
    say('\nstopping ...');
    await running.stack?.stop();
    say('stopped.');
    process.exitCode = code;
    // Everything is closed; should a library still hold a handle, do not hang the terminal.
    setTimeout(() => process.exit(code), 5_000).unref();
  };
  // A terminal's Ctrl-C reaches npm and this process, and npm forwards it again: a repeat within
  // FORCE_QUIT_AFTER_MS is that echo and is ignored; a later one forces the exit.
  let firstSignalAt = 0;
  const onSignal = (): void => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void shutdown(0);
    } else if (Date.now() - firstSignalAt > FORCE_QUIT_AFTER_MS) {
      say('forced exit.');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const stack = await startLocalStack({
    template,
    metrics,
    configFile: values.config,
    endpoint: values.endpoint,
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : undefined,
    demoRatePerSec: values['no-demo'] ? 0 : ratePerSec,
    demoOrdersPerSec: values['no-demo'] ? 0 : ordersPerSec,
    demoOrdersLimit: ordersLimit,
    dashboardPort: port,
    logLevel,
    chaosEvery,
    auth: values.auth === true,
    say,
  });
  running.stack = stack;
  if (stopping) {
    // Ctrl-C arrived while starting: shutdown() ran before the stack existed.
    await stack.stop();
    return;
  }
  const { endpoints, totals } = stack;
  say(
    `endpoints: kinesis=${endpoints.kinesis ?? 'aws'} dynamodb=${endpoints.dynamodb ?? 'aws'} sqs=${endpoints.sqs ?? 'aws'} counters=${stack.countersTable} failures=${stack.failureQueueUrl ?? ''}`,
  );
  say(
    `\ndashboard: ${stack.readServer.url}/\npush events: npm run produce -- --stream ${stack.streamName} --endpoint ${endpoints.kinesis ?? '(AWS)'}\nCtrl-C to stop.\n`,
  );
  const emulators = stack.emulators;
  running.timer = setInterval(() => {
    let iteratorAgeMs = 0;
    let batches = 0;
    let recordsIn = 0;
    for (const e of emulators) {
      iteratorAgeMs = Math.max(iteratorAgeMs, e.stats.iteratorAgeMs);
      batches += e.stats.batches;
      recordsIn += e.stats.recordsIn;
    }
    status.update(
      `produced ${totals.produced}${totals.orderChanges > 0 ? ` + ${totals.orderChanges} order changes` : ''} | records in ${recordsIn} | batches ${batches} | iterator age ${iteratorAgeMs} ms | counted ${totals.eventsCounted} | rejected ${totals.rejected} | counter writes ${totals.counterWrites}`,
    );
  }, STATUS_REFRESH_MS);
}

// main returns once everything runs; the process lives until Ctrl-C (see shutdown).
runCli(SPEC, 'npm start', main, { exitWhenDone: false });
