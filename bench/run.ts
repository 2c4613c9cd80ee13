/**
 * `npm run bench`: the core benchmark, then the handler benchmark against dynalite.
 *   --json       one JSON object per line instead of tables
 *   --core-only  skip the handler and cost benchmarks
 *   --cost-only  the cost benchmark only (with the handler benchmark it calibrates Lambda CPU from)
 *   --breakdown  with the cost benchmark: streamtally's writes per metric, window size and reason
 * Re-executes node with --expose-gc (for allocation and heap checks) and a 256 MB young generation, so
 * that no scavenge runs inside an allocation window; a window that saw one is reported as unmeasured.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { coreJsonLines, formatCoreTable, runCoreBenchmark } from './core.bench.js';

const NODE_FLAGS = ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256'];

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const json = args.has('--json');
  const log = (line: string): void => {
    if (!json) process.stderr.write(`${line}\n`);
  };
  const machine = `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`;
  if (!json) console.log(`streamtally benchmark: ${machine}\n`);
  else
    console.log(
      JSON.stringify({
        section: 'machine',
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        flags: process.execArgv,
      }),
    );

  if (!args.has('--cost-only')) {
    log('core benchmark (decode + aggregate one Kinesis batch)...');
    const core = runCoreBenchmark(log);
    if (json) for (const line of coreJsonLines(core)) console.log(line);
    else console.log(`## Core: decode + aggregate\n\n${formatCoreTable(core)}\n`);
  }

  if (!args.has('--core-only')) {
    log('handler benchmark (createAnalyticsHandler against dynalite)...');
    const { runHandlerBenchmark, formatHandlerTable, handlerJsonLines } = await import('./handler.bench.js');
    const handler = await runHandlerBenchmark(log);
    if (json) for (const line of handlerJsonLines(handler)) console.log(line);
    else if (!args.has('--cost-only'))
      console.log(`## Handler: one 10,000-record batch through the Lambda handler\n\n${formatHandlerTable(handler)}\n`);

    const sizes = await import('./item-size.bench.js');
    const sizeRows = sizes.runItemSizeBenchmark();
    if (json) for (const line of sizes.itemSizeJsonLines(sizeRows)) console.log(line);
    else
      console.log(`## Counter item sizes (DynamoDB's rules), demo config\n\n${sizes.formatItemSizeTable(sizeRows)}\n`);

    log('cost benchmark (simulated event source batching, demo config, every freshness setting)...');
    const cost = await import('./cost.bench.js');
    const calibration = await cost.calibrateFromHandler(handler);
    const breakdown = args.has('--breakdown');
    const report = await cost.runCostBenchmark(calibration, log, undefined, undefined, { breakdown });
    if (json) for (const line of cost.costJsonLines(report)) console.log(line);
    else {
      console.log(
        `## Cost per event: demo config, clickstream, every freshness setting\n\n${cost.formatCostTable(report)}\n`,
      );
      if (breakdown) console.log(`## Writes per event by reason\n\n${cost.formatBreakdownTable(report)}\n`);
    }
  }
}

if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  const child = spawnSync(
    process.execPath,
    [...NODE_FLAGS, '--import', 'tsx', process.argv[1], ...process.argv.slice(2)],
    // The SDK's Node-version notice is silenced here as in every CLI (src/cli): it is not about the bench.
    { stdio: 'inherit', env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env } },
  );
  process.exit(child.status ?? 1);
} else {
  await main();
}
