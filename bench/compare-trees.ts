/**
 * The core hot path of this tree against another checkout of the repository, in one process, the way
 * find-my-way's compare-branches does it: both cores decode and aggregate the same batches, sampled in
 * alternating rounds (bench/measure.ts `timeInterleaved`), and the ratio is the median of the per-round
 * ratios, so load from other processes hits both alike.
 *
 *   git worktree add --detach /tmp/before <commit>
 *   npx tsx bench/compare-trees.ts /tmp/before [--json]
 *
 * The other tree only needs its src/core and src/sources (pure, no dependencies): no npm install there.
 * Ratio > 1 means this tree is slower.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KinesisStreamRecord } from 'aws-lambda';
import { buildBatch } from './batch.js';
import { BENCH_METRIC_DEFINITIONS } from './bench-config.js';
import { medianRatio, timeInterleaved } from './measure.js';

const BATCH_SIZES = [100, 1_000, 10_000] as const;
const USAGE = 'usage: npx tsx bench/compare-trees.ts <path to another checkout> [--json]';

interface CoreModules {
  Aggregator: new (config: unknown) => { begin(): void; cellsUsed: number };
  KinesisRecordDecoder: new () => { decode(records: ReadonlyArray<KinesisStreamRecord>, sink: unknown): void };
  compileConfig: (input: unknown) => unknown;
}

/** Loads the hot path of the checkout at `root`: from its current layout. */
async function loadCore(root: string): Promise<CoreModules> {
  const load = async (path: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(resolve(root, path)).href)) as Record<string, unknown>;
  const aggregator = await load('src/core/aggregator.ts');
  const kinesis = await load('src/sources/kinesis.ts');
  const config = await load('src/core/metric-config.ts');
  return {
    Aggregator: aggregator.Aggregator as CoreModules['Aggregator'],
    KinesisRecordDecoder: kinesis.KinesisRecordDecoder as CoreModules['KinesisRecordDecoder'],
    compileConfig: config.compileConfig as CoreModules['compileConfig'],
  };
}

function coreRun(core: CoreModules, records: ReadonlyArray<KinesisStreamRecord>): () => number {
  const aggregator = new core.Aggregator(core.compileConfig(BENCH_METRIC_DEFINITIONS));
  const decoder = new core.KinesisRecordDecoder();
  // hot path: what bench/cases.ts CoreCase#run does, for either tree.
  return () => {
    aggregator.begin();
    decoder.decode(records, aggregator);
    return aggregator.cellsUsed;
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const other = args.find((a) => !a.startsWith('--'));
  if (!other || args.some((a) => a.startsWith('--') && a !== '--json')) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const otherRoot = resolve(other);
  if (!existsSync(resolve(otherRoot, 'src/core/aggregator.ts'))) {
    process.stderr.write(`${otherRoot} has no src/core/aggregator.ts: point at a checkout of streamtally\n${USAGE}\n`);
    process.exit(2);
  }
  const here = await loadCore(resolve(import.meta.dirname, '..'));
  const there = await loadCore(otherRoot);
  if (!json)
    console.log(`core hot path, this tree vs ${otherRoot} (node ${process.version}); ratio > 1: this tree slower\n`);
  if (!json)
    console.log(
      '| records | this tree CPU ms/batch | other CPU ms/batch | ratio (median of rounds) |\n|---:|---:|---:|---:|',
    );
  for (const size of BATCH_SIZES) {
    process.stderr.write(`  ${size} records ...\n`);
    const { records } = buildBatch(size);
    const runs = [coreRun(here, records), coreRun(there, records)];
    // Both decode the same input into the same cells; a difference would make the comparison meaningless.
    if (runs[0]() !== runs[1]()) throw new Error(`the two trees touch a different number of cells at ${size} records`);
    const { timings, cpuPerRound } = timeInterleaved(runs);
    const ratio = medianRatio(cpuPerRound[0], cpuPerRound[1]);
    const row = { records: size, thisCpuMs: timings[0].cpuMsPerBatch, otherCpuMs: timings[1].cpuMsPerBatch, ratio };
    if (json) console.log(JSON.stringify({ section: 'compare-trees', node: process.version, ...row }));
    else console.log(`| ${size} | ${row.thisCpuMs.toFixed(3)} | ${row.otherCpuMs.toFixed(3)} | ${ratio.toFixed(3)} |`);
  }
}

await main();
