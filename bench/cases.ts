/**
 * The benchmark cases over one Lambda Kinesis batch. Each `run(records)` returns a number that the
 * harness consumes, so no case can be optimised away.
 *
 * - core:     streamtally's KinesisRecordDecoder into its Aggregator (cells not materialised).
 * - baseline: what a competent engineer writes first: base64 -> string -> JSON.parse, then filters,
 *             dimensions and windows from the same compiled config into a Map keyed by template strings
 *             (a Set for distinct values, an array sorted at the end for p95).
 * - floor:    base64-decode every record and read each byte once: nothing that reads the data is faster.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { Aggregator, NONE_VALUE } from '../src/core/aggregator.js';
import { JsonFieldScanner } from '../src/core/json-scan.js';
import { FilterOp, type CompiledConfig, type CompiledFilter, type CompiledMetric } from '../src/core/metric-config.js';
import type { AttributeMap, DynamoDbEventName, RejectReason } from '../src/core/types.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '../src/sources/constants.js';
import { KinesisRecordDecoder, type TimedJsonSink } from '../src/sources/kinesis.js';

/** Lambda's synchronous invocation payload limit (6 MB) bounds one record's decoded size. */
const FLOOR_SCRATCH_BYTES = 1 << 16;

export class CoreCase {
  readonly aggregator: Aggregator;
  readonly decoder = new KinesisRecordDecoder();

  constructor(config: CompiledConfig) {
    this.aggregator = new Aggregator(config);
  }

  /** hot path: decode + aggregate one batch; returns the cells touched. */
  run(records: ReadonlyArray<KinesisStreamRecord>): number {
    this.aggregator.begin();
    this.decoder.decode(records, this.aggregator);
    return this.aggregator.cellsUsed;
  }

  /** As `run`, then materialise the counter deltas (`cells()`), as the processor does before writing. */
  runWithCells(records: ReadonlyArray<KinesisStreamRecord>): number {
    this.run(records);
    return this.aggregator.cells().length;
  }
}

/** One counter of the baseline, with the conventional exact structures for distinct and p95. */
export interface BaselineCell {
  metric: string;
  dimensionValues: string[];
  window: string;
  windowStartMs: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  distinct: Set<string> | undefined;
  values: number[] | undefined;
}

export function getPath(event: unknown, keys: ReadonlyArray<string>): unknown {
  let value = event;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export function matches(event: unknown, filter: CompiledFilter, paths: string[][]): boolean {
  const value = getPath(event, paths[filter.path]);
  if (filter.op === FilterOp.Exists) return value !== undefined;
  if (filter.op === FilterOp.NotExists) return value === undefined;
  return filter.values.some((v) =>
    v.kind === 'string'
      ? value === v.text
      : v.kind === 'number'
        ? value === v.number
        : v.kind === 'boolean'
          ? value === v.boolean
          : value === null,
  );
}

export function dimensionString(value: unknown): string | undefined {
  if (value === undefined || value === null) return NONE_VALUE;
  if (typeof value === 'object') return undefined;
  return String(value);
}

/** The conventional aggregation, driven by the same compiled config as the core. */
export function aggregateBaseline(
  records: ReadonlyArray<KinesisStreamRecord>,
  config: CompiledConfig,
): Map<string, BaselineCell> {
  const cells = new Map<string, BaselineCell>();
  for (const record of records) {
    let event: unknown;
    try {
      event = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString());
    } catch {
      continue;
    }
    const arrivalMs = Math.round(record.kinesis.approximateArrivalTimestamp * 1000);
    for (const metric of config.metrics) {
      if (!metric.filters.every((f) => matches(event, f, config.paths))) continue;
      countBaseline(cells, event, metric, config, arrivalMs);
    }
  }
  return cells;
}

function countBaseline(
  cells: Map<string, BaselineCell>,
  event: unknown,
  metric: CompiledMetric,
  config: CompiledConfig,
  arrivalMs: number,
): void {
  const ts = metric.eventTimePath >= 0 ? getPath(event, config.paths[metric.eventTimePath]) : undefined;
  const timeMs = typeof ts === 'string' ? Date.parse(ts) : arrivalMs;
  if (Number.isNaN(timeMs)) return;
  const finest = metric.windows[0];
  if (arrivalMs > Math.floor(timeMs / finest.sizeMs) * finest.sizeMs + finest.sizeMs + metric.allowedLatenessMs) return;
  if (timeMs > arrivalMs + metric.futureSkewMs) return;
  let value = 0;
  if (metric.needsValue) {
    const v = getPath(event, config.paths[metric.valuePath]);
    if (typeof v !== 'number') return;
    value = v;
  }
  const dimensionValues: string[] = [];
  for (const p of metric.dimensionPaths) {
    const d = dimensionString(getPath(event, config.paths[p]));
    if (d === undefined) return;
    dimensionValues.push(d);
  }
  const distinct = metric.hasDistinct ? getPath(event, config.paths[metric.distinctPath]) : undefined;
  for (const window of metric.windows) {
    const windowStartMs = Math.floor(timeMs / window.sizeMs) * window.sizeMs;
    const key = `${metric.name}|${dimensionValues.join('|')}|${window.label}|${windowStartMs}`;
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        metric: metric.name,
        dimensionValues,
        window: window.label,
        windowStartMs,
        count: 0,
        sum: 0,
        min: Infinity,
        max: -Infinity,
        distinct: metric.hasDistinct ? new Set() : undefined,
        values: metric.hasQuantiles ? [] : undefined,
      };
      cells.set(key, cell);
    }
    cell.count++;
    if (metric.needsValue) {
      cell.sum += value;
      cell.min = Math.min(cell.min, value);
      cell.max = Math.max(cell.max, value);
    }
    if (cell.distinct && distinct !== undefined && distinct !== null) cell.distinct.add(String(distinct));
    cell.values?.push(value);
  }
}

/** The baseline's end of batch: sort each p95 array and read the quantile; returns a checksum. */
export function finishBaseline(cells: Map<string, BaselineCell>): number {
  let checksum = 0;
  for (const cell of cells.values()) {
    if (cell.values) {
      cell.values.sort((a, b) => a - b);
      checksum += cell.values[Math.floor(0.95 * (cell.values.length - 1))];
    }
    if (cell.distinct) checksum += cell.distinct.size;
  }
  return checksum;
}

export class BaselineCase {
  constructor(private readonly config: CompiledConfig) {}

  run(records: ReadonlyArray<KinesisStreamRecord>): number {
    return aggregateBaseline(records, this.config).size;
  }

  runWithFinish(records: ReadonlyArray<KinesisStreamRecord>): number {
    return finishBaseline(aggregateBaseline(records, this.config));
  }
}

export class FloorCase {
  private readonly scratch = Buffer.allocUnsafe(FLOOR_SCRATCH_BYTES);

  /** hot path: base64 into one reused buffer, then one pass summing the bytes. */
  run(records: ReadonlyArray<KinesisStreamRecord>): number {
    const scratch = this.scratch;
    let sum = 0;
    for (let i = 0; i < records.length; i++) {
      const n = scratch.write(records[i].kinesis.data, 0, 'base64');
      for (let k = 0; k < n; k++) sum += scratch[k];
    }
    return sum;
  }
}

/** What the decoder hands its payloads to in a diagnostic case. */
export type DiagnosticMode = 'count' | 'scan' | 'validate' | 'json-parse';

/**
 * The sink of the diagnostic cases. One class for every mode, so the decoder's call into it stays
 * monomorphic whichever diagnostic ran before (four sink classes made it megamorphic and the later
 * diagnostics slower than the work they measure).
 * - `count`: nothing but the byte count, i.e. the decoder alone (base64, framing checks, CDC search);
 * - `scan`: the aggregator's `JsonFieldScanner` with the config's paths, no aggregation;
 * - `validate`: the scanner with no paths: only the validation that rejecting invalid JSON needs;
 * - `json-parse`: `toString` + `JSON.parse`, the engine's own (C++) validating parser.
 */
class DiagnosticSink implements TimedJsonSink {
  bytes = 0;
  private readonly scanner: JsonFieldScanner;
  constructor(
    private readonly mode: DiagnosticMode,
    paths: ReadonlyArray<ReadonlyArray<string>>,
  ) {
    this.scanner = new JsonFieldScanner(mode === 'scan' ? paths : []);
  }
  ingestJson(bytes: Uint8Array, start: number, end: number): void {
    this.take(bytes, start, end);
  }
  /** The decoder's call when the sink has it (as the aggregator does): no epoch-ms doubles to box. */
  ingestJsonTimed(bytes: Uint8Array, start: number, end: number): void {
    this.take(bytes, start, end);
  }
  private take(bytes: Uint8Array, start: number, end: number): void {
    if (this.mode === 'count') this.bytes += end - start;
    else if (this.mode === 'json-parse') {
      const value: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString());
      this.bytes += value === null ? 0 : 1;
    } else this.bytes += this.scanner.scan(bytes, start, end);
  }
  ingestImage(_e: DynamoDbEventName, _n: AttributeMap | undefined, _o: AttributeMap | undefined): void {}
  reject(_i: number, _r: RejectReason, _d: string): void {}
}

export class DecodeOnlyCase {
  /**
   * With the core's aggregator the decoder does no search for DynamoDB change records (the aggregator's
   * scan reads `eventSource`); this sink cannot, so detection is off to time the same decoder work.
   */
  private readonly decoder = new KinesisRecordDecoder({
    maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
    detectDynamoDbChanges: false,
  });
  private readonly sink: DiagnosticSink;
  constructor(config: CompiledConfig, mode: DiagnosticMode) {
    this.sink = new DiagnosticSink(mode, config.paths);
  }

  run(records: ReadonlyArray<KinesisStreamRecord>): number {
    this.sink.bytes = 0;
    this.decoder.decode(records, this.sink);
    return this.sink.bytes;
  }
}
