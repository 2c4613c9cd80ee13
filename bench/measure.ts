/**
 * Timing and allocation measurement. Timing: the cases of a group are warmed up, then sampled side by
 * side, one sample of each per round (`timeInterleaved`), each sample long enough (>= MIN_SAMPLE_MS) for
 * the clock's resolution not to matter; ratios are taken round by round (`medianRatio`). Allocation: V8 heap bytes
 * (and ArrayBuffer bytes) used after minus before many batches with no GC in between, proved by
 * v8.GCProfiler: if any GC ran in the window the figure is reported as unmeasured, never as a guess.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

// 400 ms left `core` @ 10,000 (measured first) 20-30 % slower than the same work measured later: V8 had not
// finished optimising. 2 s and 100 calls reach the steady state the later cases see.
const WARMUP_MS = 2_000;
const MIN_WARMUP_CALLS = 100;
const MIN_SAMPLE_MS = 15;
/** Aim for this much allocation per window: far below the 256 MB semi-space run.ts asks for. */
const ALLOCATION_WINDOW_BYTES = 64 * 1024 * 1024;
const MAX_ALLOCATION_BATCHES = 100_000;
/** Bounds the window's duration for cases that allocate almost nothing. */
const MAX_ALLOCATION_RECORDS = 1_000_000;

/** Everything a case returns is added here and printed, so no result is dead code. */
let blackhole = 0;
export function consumed(): number {
  return blackhole;
}

export function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc)
    throw new Error(
      'global.gc is missing: run the benchmark through `npm run bench` (it re-executes node with --expose-gc)',
    );
  gc();
  gc();
}

export interface Timing {
  /** Median wall-clock ms per batch. */
  msPerBatch: number;
  /** Median process CPU ms (user + system) per batch: robust when other work shares the CPUs. */
  cpuMsPerBatch: number;
  /** Batches per timed sample and the spread of the samples (ms per batch). */
  batchesPerSample: number;
  minMs: number;
  maxMs: number;
}

/** Warms `run` up; returns how many batches one timed sample needs to last MIN_SAMPLE_MS. */
function warmUp(run: () => number): number {
  const warmEnd = performance.now() + WARMUP_MS;
  let calls = 0;
  while (calls < MIN_WARMUP_CALLS || performance.now() < warmEnd) {
    blackhole += run();
    calls++;
  }
  const t0 = performance.now();
  for (let k = 0; k < 5; k++) blackhole += run();
  const estimate = (performance.now() - t0) / 5;
  return Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(estimate, 1e-6)));
}

/** One timed sample: [wall ms, CPU ms] per batch. */
function sample(run: () => number, batchesPerSample: number): [number, number] {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let k = 0; k < batchesPerSample; k++) blackhole += run();
  const wall = (performance.now() - start) / batchesPerSample;
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / 1000 / batchesPerSample];
}

function median(values: ReadonlyArray<number>): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function timing(wall: number[], cpu: number[], batchesPerSample: number): Timing {
  return {
    msPerBatch: median(wall),
    cpuMsPerBatch: median(cpu),
    batchesPerSample,
    minMs: Math.min(...wall),
    maxMs: Math.max(...wall),
  };
}

/** Rounds of `timeInterleaved`: every case is sampled once per round. */
export const INTERLEAVED_ROUNDS = 31;

export interface InterleavedTimings {
  timings: Timing[];
  /** cpuPerRound[case][round]: CPU ms per batch, in round order, for ratios taken round by round. */
  cpuPerRound: number[][];
}

/**
 * Times several cases side by side: each is warmed up, then every round takes one sample of each case,
 * in an order that rotates from round to round. A burst of load from another process then hits the
 * cases of one round alike, so ratios taken round by round (see `medianRatio`) stay put when the
 * machine's speed does not.
 */
export function timeInterleaved(runs: ReadonlyArray<() => number>): InterleavedTimings {
  const batchesPerSample = runs.map((run) => warmUp(run));
  const wall: number[][] = runs.map(() => []);
  const cpu: number[][] = runs.map(() => []);
  for (let round = 0; round < INTERLEAVED_ROUNDS; round++) {
    for (let j = 0; j < runs.length; j++) {
      const c = (j + round) % runs.length;
      const [w, u] = sample(runs[c], batchesPerSample[c]);
      wall[c].push(w);
      cpu[c].push(u);
    }
  }
  return { timings: runs.map((_, c) => timing(wall[c], cpu[c], batchesPerSample[c])), cpuPerRound: cpu };
}

/** Median over rounds of numerator[round] / denominator[round]. */
export function medianRatio(numerator: ReadonlyArray<number>, denominator: ReadonlyArray<number>): number {
  return median(numerator.map((n, round) => n / denominator[round]));
}

export interface Allocation {
  /** Undefined when a GC ran inside the window: the delta would be wrong, so nothing is claimed. */
  heapBytesPerRecord: number | undefined;
  externalBytesPerRecord: number | undefined;
  batches: number;
  gcsInWindow: number;
}

function allocationWindow(run: () => number, batches: number): { heap: number; external: number; gcs: number } {
  gcNow();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = process.memoryUsage();
  for (let k = 0; k < batches; k++) blackhole += run();
  const after = process.memoryUsage();
  const gcs = profiler.stop().statistics.length;
  return { heap: after.heapUsed - before.heapUsed, external: after.arrayBuffers - before.arrayBuffers, gcs };
}

/** Bytes allocated per record in steady state (call after warm-up). */
export function measureAllocation(run: () => number, recordsPerBatch: number): Allocation {
  const probe = allocationWindow(run, 1);
  const perBatch = probe.gcs > 0 ? ALLOCATION_WINDOW_BYTES : Math.max(1, probe.heap + probe.external);
  const cap = Math.max(2, Math.min(MAX_ALLOCATION_BATCHES, Math.floor(MAX_ALLOCATION_RECORDS / recordsPerBatch)));
  const batches = Math.min(cap, Math.max(2, Math.floor(ALLOCATION_WINDOW_BYTES / perBatch)));
  const w = allocationWindow(run, batches);
  const n = batches * recordsPerBatch;
  if (w.gcs > 0)
    return { heapBytesPerRecord: undefined, externalBytesPerRecord: undefined, batches, gcsInWindow: w.gcs };
  return { heapBytesPerRecord: w.heap / n, externalBytesPerRecord: w.external / n, batches, gcsInWindow: 0 };
}

/** heapUsed after a full GC at batch `first` and at batch `last` of one run of consecutive batches. */
export function heapAfterBatches(run: () => number, first: number, last: number): { first: number; last: number } {
  gcNow();
  for (let k = 0; k < first; k++) blackhole += run();
  gcNow();
  const atFirst = process.memoryUsage().heapUsed;
  for (let k = first; k < last; k++) blackhole += run();
  gcNow();
  return { first: atFirst, last: process.memoryUsage().heapUsed };
}
