/**
 * The aggregation core: decoded payloads in, counter deltas out.
 *
 * For each event it evaluates every metric (filter, event time, lateness, value, dimensions), assigns the
 * event to one tumbling bucket per window size and folds it into a cell of preallocated typed-array
 * tables keyed by interned (group, window, window start) ids. Tables are reset between batches with
 * `fill`, never reallocated; dimension strings and group tuples are interned once and stay interned
 * across batches (up to MAX_INTERNED_STRINGS).
 *
 * Per cell it also keeps the lowest and highest index of the Lambda records that fed it, which the sink
 * maps to sequence numbers for exact, idempotent writes.
 */
import { ByteInterner, growFloat64, growInt32 } from './byte-interner.js';
import { hash64 } from './hash.js';
import { parseIsoTimestampInto } from './iso-time.js';
import { JsonFieldScanner, ValueKind, skipWhitespace } from './json-scan.js';
import {
  FilterOp,
  LEVEL_WINDOW,
  MAX_WINDOWS_PER_METRIC,
  TimeFormatCode,
  type CompiledConfig,
  type CompiledMetric,
  type CompiledWindow,
  type FilterValue,
} from './metric-config.js';
import { KeyTable } from './key-table.js';
import { DDSketch } from './sketch/ddsketch.js';
import { HyperLogLog } from './sketch/hyperloglog.js';
import { ImageFields } from './image-fields.js';
import { attributesChanged } from './image-change.js';
import { FOLDED_STAT, RejectLog, type RejectEntry, type StatsDelta } from './reject-log.js';
import {
  DYNAMODB_EVENT_SOURCE,
  RejectReason,
  type AttributeMap,
  type DynamoDbEventName,
  type EventSink,
} from './types.js';

export { FOLDED_STAT, type RejectEntry, type StatsDelta };

/** Dimension value for a missing field or a JSON null. */
export const NONE_VALUE = '__none__';
/** Dimension value that groups beyond `maxGroupsPerWindow` fold into. */
export const OTHER_VALUE = '__other__';
/**
 * DynamoDB's partition key limit, 2048 bytes (DynamoDB quotas: "partition key value ... 2048 bytes"). The
 * sort key (window label and ISO start, under 40 bytes) and the item (the key twice, small numbers and
 * sketches of bounded size) stay far below their limits (1024 bytes, 400 KB) once the partition key fits.
 */
export const MAX_PARTITION_KEY_BYTES = 2048;
/** Interned strings are dropped between batches past this many, bounding memory on high-cardinality data. */
export const MAX_INTERNED_STRINGS = 1 << 20;
const INITIAL_CELLS = 1 << 10;
/** Direct-mapped cache of group tuples (metric + up to 3 dimension ids) in front of the group interner. */
const GROUP_CACHE_SLOTS = 1 << 12;
const GROUP_CACHE_WIDTH = 4;
const SCRATCH_BYTES = 1 << 12;
const EVENT_NAME_BIT: Readonly<Record<DynamoDbEventName, number>> = { INSERT: 1, MODIFY: 2, REMOVE: 4 };
/** eventNameBit for events that are not DynamoDB changes: never matches an eventName filter. */
const NOT_A_CHANGE = 0;
/** The top-level field that marks a JSON payload as a DynamoDB change record (see `ingestJsonUnlessChange`). */
const EVENT_SOURCE_PATH: readonly string[] = ['eventSource'];
const CHANGE_EVENT_SOURCE: FilterValue = {
  kind: 'string',
  text: DYNAMODB_EVENT_SOURCE,
  bytes: new TextEncoder().encode(DYNAMODB_EVENT_SOURCE),
  number: Number.NaN,
  boolean: false,
};

// Slots of `Aggregator#times`. Epoch-ms values live in a Float64Array, never in a double-typed argument,
// return value or field: each of those became a 16-byte HeapNumber per record whenever V8 did not inline
// the call (82 B/record in the bench's heap profile, all such boxes).
const T_ARRIVAL = 0;
const T_FALLBACK = 1;
const T_EVENT = 2;
const T_WINDOW_START = 3;
const TIME_SLOTS = 4;

/** One counter item's delta for this batch. Built once per cell at `cells()`, off the hot path. */
export interface CellDelta {
  metric: CompiledMetric;
  window: CompiledWindow;
  windowStartMs: number;
  dimensionValues: string[];
  count: number;
  sum: number;
  min: number;
  max: number;
  hll: HyperLogLog | null;
  sketch: DDSketch | null;
  /** Lowest and highest index (in the Lambda event's Records) of the records that fed this cell. */
  firstRecord: number;
  lastRecord: number;
}

export class Aggregator implements EventSink {
  readonly config: CompiledConfig;
  private readonly metrics: CompiledMetric[];
  private readonly scanner: JsonFieldScanner;
  /** Scanner path of the top-level `eventSource`, after the config's own paths. */
  private readonly eventSourcePath: number;
  private readonly strings = new ByteInterner();
  private readonly groups = new ByteInterner();
  private groupMetric = new Int32Array(1 << 10);
  private readonly groupScratch = new Int32Array(16);
  private readonly groupScratchBytes = new Uint8Array(this.groupScratch.buffer);
  private readonly groupCacheTuple = new Int32Array(GROUP_CACHE_SLOTS * GROUP_CACHE_WIDTH);
  private readonly groupCacheLength = new Int32Array(GROUP_CACHE_SLOTS);
  private readonly groupCacheId = new Int32Array(GROUP_CACHE_SLOTS).fill(-1);
  private noneId = 0;
  private otherId = 0;
  private trueId = 0;
  private falseId = 0;

  // Cell tables (struct of arrays), indexed by KeyTable index.
  private readonly cellKeys = new KeyTable(INITIAL_CELLS);
  private cellCount = new Float64Array(INITIAL_CELLS);
  private cellSum = new Float64Array(INITIAL_CELLS);
  private cellMin = new Float64Array(INITIAL_CELLS);
  private cellMax = new Float64Array(INITIAL_CELLS);
  private cellFirst = new Int32Array(INITIAL_CELLS);
  private cellLast = new Int32Array(INITIAL_CELLS);
  private cellHll = new Int32Array(INITIAL_CELLS);
  private cellSketch = new Int32Array(INITIAL_CELLS);
  /** For a group folded over the cap: the `__other__` cell its events go to; -1 otherwise. */
  private cellFoldedInto = new Int32Array(INITIAL_CELLS);
  private readonly hllPool: HyperLogLog[] = [];
  private hllUsed = 0;
  private readonly sketchPool: DDSketch[] = [];
  private sketchUsed = 0;

  /**
   * Per (group, window index): the cell of the window start last looked up in batch `cellCacheBatch`, so
   * the common case (the group's events in one window) skips the KeyTable hash and probe. Slot
   * group * MAX_WINDOWS_PER_METRIC + w.
   */
  private cellCacheBatch = new Int32Array(INITIAL_CELLS * MAX_WINDOWS_PER_METRIC);
  private cellCacheStart = new Float64Array(INITIAL_CELLS * MAX_WINDOWS_PER_METRIC);
  private cellCacheCell = new Int32Array(INITIAL_CELLS * MAX_WINDOWS_PER_METRIC);
  private batchSerial = 1;

  // Groups per (metric, window, window start), for the cardinality cap.
  private readonly windowInstances = new KeyTable(256);
  private instanceGroups = new Int32Array(256);
  private foldedPerMetric: Float64Array;

  // The fields of the event being evaluated: the scanner's tables for JSON, ours for DynamoDB images.
  private curBytes: Uint8Array = new Uint8Array(0);
  private curKinds: Uint8Array;
  private curStarts: Int32Array;
  private curEnds: Int32Array;
  private curEscaped: Uint8Array;
  private curIsImage = false;
  private readonly image: ImageFields;
  private scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly hashOut = new Uint32Array(4);
  /** Per event: arrival, fallback time, event time, the window start being looked up (T_* slots). */
  private readonly times = new Float64Array(TIME_SLOTS);
  /** Path and format of the event time already in times[T_EVENT] for the current event, or -1. */
  private eventTimePath = -1;
  private eventTimeFormat = -1;
  private readonly encoder = new TextEncoder();
  /** The images of the DynamoDB change being evaluated (for `changed` filters); undefined for JSON events. */
  private curNewImage: AttributeMap | undefined;
  private curOldImage: AttributeMap | undefined;
  /** `state` metrics, evaluated on both images of a change; `events` image metrics, on one. */
  private readonly stateMetrics: CompiledMetric[];
  private readonly eventImageMetrics: number;
  /** Per state metric (by position in stateMetrics): the old image's group and value, -1 when not a member. */
  private readonly stateOldGroup: Int32Array;
  private readonly stateOldValue: Float64Array;

  // Cold-path outputs.
  private readonly rejectLog: RejectLog;
  /** Events seen (JSON values and DynamoDB changes), and events counted by at least one metric. */
  eventsIn = 0;
  eventsCounted = 0;

  /**
   * Whether `maxGroupsPerWindow` folds groups within a batch (by the batch's own group counts). The stream
   * processor turns it off: a per-batch decision is not the same on every delivery (bisection, checkpoints),
   * so it folds in the sink instead, by admissions persisted in the table (src/sink/group-admission.ts).
   */
  private readonly foldInBatch: boolean;

  constructor(config: CompiledConfig, options: { foldInBatch?: boolean } = {}) {
    this.config = config;
    this.foldInBatch = options.foldInBatch ?? true;
    this.metrics = config.metrics;
    this.scanner = new JsonFieldScanner([...config.paths, EVENT_SOURCE_PATH]);
    this.eventSourcePath = config.paths.length;
    this.curKinds = this.scanner.kinds;
    this.curStarts = this.scanner.starts;
    this.curEnds = this.scanner.ends;
    this.curEscaped = this.scanner.escaped;
    this.image = new ImageFields(config.paths);
    this.rejectLog = new RejectLog(config.metrics);
    this.foldedPerMetric = new Float64Array(config.metrics.length);
    this.stateMetrics = config.metrics.filter((m) => m.kind === 'state');
    this.eventImageMetrics = config.metrics.filter((m) => m.kind !== 'state' && m.acceptsImage).length;
    this.stateOldGroup = new Int32Array(this.stateMetrics.length);
    this.stateOldValue = new Float64Array(this.stateMetrics.length);
    this.internConstants();
  }

  private internConstants(): void {
    this.noneId = this.strings.internString(NONE_VALUE);
    this.otherId = this.strings.internString(OTHER_VALUE);
    this.trueId = this.strings.internString('true');
    this.falseId = this.strings.internString('false');
  }

  /** Resets the per-batch tables (not the interned strings) for the next batch. */
  begin(): void {
    const used = this.cellKeys.size;
    this.batchSerial++;
    if (this.batchSerial === 0x7fffffff) {
      this.cellCacheBatch.fill(0);
      this.batchSerial = 1;
    }
    this.cellCount.fill(0, 0, used);
    this.cellSum.fill(0, 0, used);
    this.cellKeys.clear();
    this.windowInstances.clear();
    this.foldedPerMetric.fill(0);
    for (let i = 0; i < this.hllUsed; i++) this.hllPool[i].reset();
    for (let i = 0; i < this.sketchUsed; i++) this.sketchPool[i].reset();
    this.hllUsed = 0;
    this.sketchUsed = 0;
    this.rejectLog.clear();
    this.eventsIn = 0;
    this.eventsCounted = 0;
    // A batch's reject buckets must not depend on the batch before it (retries re-deliver other bounds).
    this.times[T_ARRIVAL] = 0;
    if (this.strings.count > MAX_INTERNED_STRINGS || this.groups.count > MAX_INTERNED_STRINGS) {
      this.strings.clear();
      this.groups.clear();
      this.groupCacheId.fill(-1);
      this.internConstants();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // EventSink

  /**
   * hot path: one payload of one or more whitespace-separated JSON values (NDJSON). Kept tiny so the
   * decoder's call inlines and the two epoch-ms arguments go straight into `times` unboxed.
   */
  ingestJson(
    bytes: Uint8Array,
    start: number,
    end: number,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void {
    const times = this.times;
    times[T_ARRIVAL] = arrivalMs;
    times[T_FALLBACK] = fallbackTimeMs;
    this.ingestValues(bytes, start, end, recordIndex, false);
  }

  /**
   * hot path: as `ingestJson`, with `times[0]` the fallback time and `times[1]` the arrival (epoch ms).
   * The Kinesis decoder uses this when the sink has it: doubles beyond the Smi range passed as arguments
   * are boxed per call unless V8 inlines the call, which it did in some bench runs and not in others.
   */
  ingestJsonTimed(bytes: Uint8Array, start: number, end: number, recordIndex: number, times: Float64Array): void {
    this.times[T_FALLBACK] = times[0];
    this.times[T_ARRIVAL] = times[1];
    this.ingestValues(bytes, start, end, recordIndex, false);
  }

  /**
   * hot path: as `ingestJsonTimed`, except for a payload that is exactly one JSON object whose top-level
   * `eventSource` is `"aws:dynamodb"` (a DynamoDB change carried in Kinesis): that one is not ingested and
   * the result is false, so the decoder can read it as a change. The check rides on the scan the payload
   * gets anyway, instead of a search of every payload's bytes.
   */
  ingestJsonUnlessChange(
    bytes: Uint8Array,
    start: number,
    end: number,
    recordIndex: number,
    times: Float64Array,
  ): boolean {
    this.times[T_FALLBACK] = times[0];
    this.times[T_ARRIVAL] = times[1];
    return this.ingestValues(bytes, start, end, recordIndex, true);
  }

  /**
   * hot path: the JSON values of one payload; times[T_ARRIVAL] and times[T_FALLBACK] are set. With
   * `divertChange`, returns false without ingesting anything when the payload is one DynamoDB change record.
   */
  private ingestValues(
    bytes: Uint8Array,
    start: number,
    end: number,
    recordIndex: number,
    divertChange: boolean,
  ): boolean {
    this.curIsImage = false;
    this.curBytes = bytes;
    this.curKinds = this.scanner.kinds;
    this.curStarts = this.scanner.starts;
    this.curEnds = this.scanner.ends;
    this.curEscaped = this.scanner.escaped;
    const pos = skipWhitespace(bytes, start, end);
    if (pos >= end) {
      this.eventsIn++; // a record is at least one event, so counted + rejected = events in
      this.rejectEvent(recordIndex, RejectReason.InvalidJson, 'empty payload');
      return true;
    }
    // Framing: a payload that is one JSON value is one event (JSON.parse would accept it whole) ...
    const next = this.scanner.scan(bytes, pos, end);
    if (next >= 0) {
      const after = skipWhitespace(bytes, next, end);
      if (after >= end) {
        if (divertChange && this.fieldEquals(this.eventSourcePath, CHANGE_EVENT_SOURCE)) return false;
        this.eventsIn++;
        this.evaluateEvent(recordIndex, NOT_A_CHANGE);
        return true;
      }
      // ... and otherwise NDJSON. When the first value is the whole first line, it is already scanned.
      const lineEnd = endOfFirstLine(bytes, pos, next, end);
      if (lineEnd >= 0) {
        this.eventsIn++;
        this.evaluateEvent(recordIndex, NOT_A_CHANGE);
        this.ingestLines(bytes, lineEnd + 1, end, recordIndex, start);
        return true;
      }
    }
    this.ingestLines(bytes, start, end, recordIndex, start);
    return true;
  }

  /**
   * hot path (NDJSON): one event per line of bytes[from, end); a line that is not exactly one JSON value
   * (a fragment of a pretty-printed object, two values side by side, a value with trailing bytes) is one
   * rejected event, whole: no scan ever restarts inside a bad value. Blank lines are skipped.
   */
  private ingestLines(bytes: Uint8Array, from: number, end: number, recordIndex: number, payloadStart: number): void {
    let lineStart = from;
    while (lineStart < end) {
      let lineEnd = lineStart;
      while (lineEnd < end && bytes[lineEnd] !== 0x0a) lineEnd++;
      const pos = skipWhitespace(bytes, lineStart, lineEnd);
      if (pos < lineEnd) {
        this.eventsIn++;
        const next = this.scanner.scan(bytes, pos, lineEnd);
        if (next >= 0 && skipWhitespace(bytes, next, lineEnd) >= lineEnd) this.evaluateEvent(recordIndex, NOT_A_CHANGE);
        else
          this.rejectEvent(
            recordIndex,
            RejectReason.InvalidJson,
            `NDJSON line at bytes ${lineStart - payloadStart}..${lineEnd - payloadStart} is not exactly one JSON value`,
          );
      }
      lineStart = lineEnd + 1;
    }
  }

  /** A DynamoDB change; fields are read from the new image (the old one for REMOVE). */
  ingestImage(
    eventName: DynamoDbEventName,
    newImage: AttributeMap | undefined,
    oldImage: AttributeMap | undefined,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void {
    this.eventsIn++;
    this.times[T_ARRIVAL] = arrivalMs;
    this.times[T_FALLBACK] = fallbackTimeMs;
    this.curNewImage = newImage ?? undefined;
    this.curOldImage = oldImage ?? undefined;
    // State metrics first: they load the old image, then the new one, leaving loaded the image the events
    // metrics read (the new one, or the old one for REMOVE).
    const stateCounted = this.stateMetrics.length > 0 && this.evaluateStates(eventName, recordIndex);
    if (this.eventImageMetrics === 0) {
      if (stateCounted) this.eventsCounted++;
      return;
    }
    const image = eventName === 'REMOVE' ? oldImage : newImage;
    if (image === undefined || image === null) {
      // eventImageMetrics > 0 here: some metric reads this image.
      this.rejectEvent(
        recordIndex,
        RejectReason.MissingImage,
        `${eventName} record without ${eventName === 'REMOVE' ? 'OldImage' : 'NewImage'}`,
      );
      if (stateCounted) this.eventsCounted++;
      return;
    }
    const loaded =
      this.stateMetrics.length === 0 || this.image.loaded !== image
        ? this.loadImage(image, recordIndex, true)
        : this.imageValid || this.rejectInvalidImage(image, recordIndex);
    if (!loaded) {
      if (stateCounted) this.eventsCounted++;
      return;
    }
    this.evaluateEvent(recordIndex, EVENT_NAME_BIT[eventName] ?? NOT_A_CHANGE, stateCounted);
  }

  /** The image whose invalid typed JSON was last reported, so that one record is rejected once. */
  private imageRejected: AttributeMap | undefined = undefined;
  /** Whether the image last loaded is valid typed JSON on every path a metric reads. */
  private imageValid = false;

  /** Loads an image's fields; an invalid one is rejected `invalid_image` when `report` (returns false). */
  private loadImage(image: AttributeMap, recordIndex: number, report: boolean): boolean {
    const fields = this.image;
    this.imageValid = fields.load(image);
    if (!this.imageValid) return report ? this.rejectInvalidImage(image, recordIndex) : false;
    this.curIsImage = true;
    this.curBytes = fields.bytes;
    this.curKinds = fields.kinds;
    this.curStarts = fields.starts;
    this.curEnds = fields.ends;
    this.curEscaped = fields.escaped;
    return true;
  }

  private rejectInvalidImage(image: AttributeMap, recordIndex: number): false {
    if (this.imageRejected !== image) {
      this.imageRejected = image;
      this.rejectEvent(recordIndex, RejectReason.InvalidImage, this.image.errorDetail);
    }
    return false;
  }

  /**
   * The level moves of every `state` metric for one change: the old image's group (a member if it passes
   * the filters and has valid dimensions and value) loses the item, the new image's gains it, and nothing
   * moves when both are the same group (only the sum, by the value's difference). Decided by the two
   * images alone, so every delivery of a record moves the same levels.
   */
  private evaluateStates(eventName: DynamoDbEventName, recordIndex: number): boolean {
    const states = this.stateMetrics;
    const oldImage = this.curOldImage;
    const newImage = this.curNewImage;
    const needsOld = eventName !== 'INSERT';
    const needsNew = eventName !== 'REMOVE';
    if ((needsOld && oldImage === undefined) || (needsNew && newImage === undefined)) {
      const missing = needsOld && oldImage === undefined ? 'OldImage' : 'NewImage';
      for (let s = 0; s < states.length; s++)
        this.addReject(
          recordIndex,
          RejectReason.MissingImage,
          states[s].index,
          `${states[s].name}: ${eventName} record without ${missing} (a "state" metric needs StreamViewType NEW_AND_OLD_IMAGES)`,
          this.times[T_ARRIVAL],
        );
      return false;
    }
    const oldGroup = this.stateOldGroup;
    const oldValue = this.stateOldValue;
    oldGroup.fill(-1);
    // The old image's rejects were reported when it was new: for MODIFY an invalid one is only "not a
    // member"; for REMOVE it is the only image, so the record is rejected.
    if (needsOld && oldImage !== undefined) {
      if (this.loadImage(oldImage, recordIndex, !needsNew)) {
        for (let s = 0; s < states.length; s++) oldGroup[s] = this.stateGroup(states[s], recordIndex, s, false);
      } else if (!needsNew) return false;
    }
    let counted = false;
    // A new image that is not typed JSON rejects the record; the item still leaves its old group, as it
    // does for a new image whose dimension is invalid.
    const newValid = needsNew && newImage !== undefined && this.loadImage(newImage, recordIndex, true);
    for (let s = 0; s < states.length; s++) {
      const metric = states[s];
      const og = oldGroup[s];
      const ov = oldValue[s];
      const ng = newValid ? this.stateGroup(metric, recordIndex, s, true) : -1;
      const nv = ng >= 0 ? this.stateValue : 0;
      if (og === ng) {
        // Same group (or a member of none): the level stays; the sum follows a changed value.
        if (og >= 0 && metric.needsValue && nv !== ov) {
          this.addLevel(metric, og, 0, nv - ov, recordIndex);
          counted = true;
        }
        continue;
      }
      if (og >= 0) this.addLevel(metric, og, -1, -ov, recordIndex);
      if (ng >= 0) this.addLevel(metric, ng, 1, nv, recordIndex);
      counted = true;
    }
    return counted;
  }

  /** Value of the image last passed to stateGroup (0 without a value field). */
  private stateValue = 0;

  /**
   * The group of the loaded image for a state metric, or -1 when it is not a member (filtered out, or an
   * invalid dimension or value: rejected when `report`). Sets stateValue; stores it for the old image.
   */
  private stateGroup(metric: CompiledMetric, recordIndex: number, s: number, report: boolean): number {
    if (!this.passesFilters(metric, NOT_A_CHANGE)) return -1;
    let value = 0;
    if (metric.needsValue) {
      const vp = metric.valuePath;
      value = this.curKinds[vp] === ValueKind.Number ? this.numberAt(vp) : Number.NaN;
      if (!Number.isFinite(value)) {
        if (report)
          this.addReject(
            recordIndex,
            RejectReason.InvalidValue,
            metric.index,
            `${metric.name}: ${this.config.pathTexts[vp]} is not a finite number`,
            this.times[T_ARRIVAL],
          );
        return -1;
      }
    }
    const dims = metric.dimensionPaths;
    const tuple = this.groupScratch;
    tuple[0] = metric.index;
    for (let d = 0; d < dims.length; d++) {
      const id = this.dimensionId(dims[d]);
      if (id < 0) {
        if (report)
          this.addReject(
            recordIndex,
            RejectReason.InvalidDimension,
            metric.index,
            `${metric.name}: ${this.config.pathTexts[dims[d]]} is an object or an array`,
            this.times[T_ARRIVAL],
          );
        return -1;
      }
      tuple[d + 1] = id;
    }
    this.stateValue = value;
    if (!report) this.stateOldValue[s] = value;
    return this.groupOf(dims.length);
  }

  /** Moves the level of `group` by `count` items and `sum`. No cap: a -1 must meet its own +1's group. */
  private addLevel(metric: CompiledMetric, group: number, count: number, sum: number, recordIndex: number): void {
    const cell = this.cellKeys.indexOf(group, 0, 0);
    if (this.cellKeys.created) this.initCell(cell, metric, recordIndex, false);
    this.cellCount[cell] += count;
    this.cellSum[cell] += sum;
    this.cellLast[cell] = recordIndex;
  }

  /** An event already counted in `eventsIn` that no metric can read (cold path). */
  private rejectEvent(recordIndex: number, reason: RejectReason, detail: string): void {
    this.addReject(recordIndex, reason, -1, detail, this.times[T_ARRIVAL]);
  }

  reject(recordIndex: number, reason: RejectReason, detail: string, arrivalMs?: number): void {
    // What a decoder could not decode is one event (a record, or a part of one), rejected: counted + rejected = in.
    this.eventsIn++;
    // Without an arrival time, the latest payload's buckets the reject statistics.
    this.addReject(recordIndex, reason, -1, detail, arrivalMs ?? this.times[T_ARRIVAL]);
  }

  // ---------------------------------------------------------------------------------------------
  // Evaluation

  /** hot path: every metric against the current event's fields. */
  private evaluateEvent(recordIndex: number, eventNameBit: number, alreadyCounted = false): void {
    const metrics = this.metrics;
    this.eventTimePath = -1;
    let counted = alreadyCounted;
    for (let m = 0; m < metrics.length; m++) {
      const metric = metrics[m];
      if (eventNameBit === NOT_A_CHANGE ? !metric.acceptsJson : !metric.acceptsImage) continue;
      // State metrics move levels in evaluateStates (both images); a JSON event has no state to move.
      if (metric.kind === 'state') continue;
      if (!this.passesFilters(metric, eventNameBit)) continue;
      if (this.countEvent(metric, recordIndex)) counted = true;
    }
    if (counted) this.eventsCounted++;
  }

  private passesFilters(metric: CompiledMetric, eventNameBit: number): boolean {
    const filters = metric.filters;
    for (let f = 0; f < filters.length; f++) {
      const filter = filters[f];
      switch (filter.op) {
        case FilterOp.EventName:
          if ((filter.eventNameMask & eventNameBit) === 0) return false;
          break;
        case FilterOp.Exists:
          if (this.curKinds[filter.path] === ValueKind.Missing) return false;
          break;
        case FilterOp.NotExists:
          if (this.curKinds[filter.path] !== ValueKind.Missing) return false;
          break;
        case FilterOp.Changed:
          if (!this.curIsImage || !attributesChanged(this.curOldImage, this.curNewImage, filter.changedPaths))
            return false;
          break;
        default: {
          const values = filter.values;
          let any = false;
          for (let v = 0; v < values.length; v++) {
            if (this.fieldEquals(filter.path, values[v])) {
              any = true;
              break;
            }
          }
          if (!any) return false;
        }
      }
    }
    return true;
  }

  private fieldEquals(path: number, value: FilterValue): boolean {
    const kind = this.curKinds[path];
    switch (value.kind) {
      case 'string': {
        if (kind !== ValueKind.String) return false;
        const want = value.bytes;
        if (this.curEscaped[path] === 0) {
          // hot path: the raw span is the string; most non-matching values already differ in length.
          const start = this.curStarts[path];
          const len = this.curEnds[path] - start;
          if (want.length !== len) return false;
          const src = this.curBytes;
          for (let i = 0; i < len; i++) if (src[start + i] !== want[i]) return false;
          return true;
        }
        const len = this.stringBytes(path);
        if (want.length !== len) return false;
        const src = this.scratch;
        for (let i = 0; i < len; i++) if (src[i] !== want[i]) return false;
        return true;
      }
      case 'number':
        return kind === ValueKind.Number && this.numberAt(path) === value.number;
      case 'boolean':
        return value.boolean ? kind === ValueKind.True : kind === ValueKind.False;
      default:
        return kind === ValueKind.Null;
    }
  }

  /** Length of the unescaped string at `path`: the raw span, or unescaped into `scratch` when escaped. */
  private stringBytes(path: number): number {
    if (this.curEscaped[path] === 0) return this.curEnds[path] - this.curStarts[path];
    let len = this.scanner.unescapeInto(this.curBytes, path, this.scratch);
    while (len < 0) {
      this.scratch = new Uint8Array(this.scratch.length * 2);
      len = this.scanner.unescapeInto(this.curBytes, path, this.scratch);
    }
    return len;
  }

  private numberAt(path: number): number {
    return this.curIsImage ? this.image.numbers[path] : this.scanner.numberAt(this.curBytes, path);
  }

  /** hot path: time, lateness, value, dimensions, then one cell per window. Returns whether counted. */
  private countEvent(metric: CompiledMetric, recordIndex: number): boolean {
    // Event time.
    const times = this.times;
    const arrivalMs = times[T_ARRIVAL];
    let timeMs = times[T_FALLBACK];
    const tp = metric.eventTimePath;
    if (tp >= 0) {
      const kind = this.curKinds[tp];
      if (kind !== ValueKind.Missing && kind !== ValueKind.Null) {
        // Metrics usually share the event-time field: read it once per event.
        if (tp !== this.eventTimePath || metric.eventTimeFormat !== this.eventTimeFormat) {
          this.readTime(tp, metric.eventTimeFormat, kind);
          this.eventTimePath = tp;
          this.eventTimeFormat = metric.eventTimeFormat;
        }
        timeMs = times[T_EVENT];
        if (Number.isNaN(timeMs)) {
          this.addReject(
            recordIndex,
            RejectReason.InvalidEventTime,
            metric.index,
            `${metric.name}: unreadable ${this.config.pathTexts[tp]}`,
            arrivalMs,
          );
          return false;
        }
      }
    }
    const finest = metric.windows[0];
    const finestStart = Math.floor(timeMs / finest.sizeMs) * finest.sizeMs;
    if (arrivalMs > finestStart + finest.sizeMs + metric.allowedLatenessMs) {
      this.addReject(
        recordIndex,
        RejectReason.TooLate,
        metric.index,
        `${metric.name}: event time ${timeMs} closed more than the allowed lateness before arrival ${arrivalMs}`,
        arrivalMs,
      );
      return false;
    }
    if (timeMs > arrivalMs + metric.futureSkewMs) {
      this.addReject(
        recordIndex,
        RejectReason.TooEarly,
        metric.index,
        `${metric.name}: event time ${timeMs} is more than the allowed future skew after arrival ${arrivalMs}`,
        arrivalMs,
      );
      return false;
    }

    // Value.
    let value = 0;
    if (metric.needsValue) {
      const vp = metric.valuePath;
      if (this.curKinds[vp] !== ValueKind.Number) {
        this.addReject(
          recordIndex,
          RejectReason.InvalidValue,
          metric.index,
          `${metric.name}: ${this.config.pathTexts[vp]} is not a number`,
          arrivalMs,
        );
        return false;
      }
      value = this.numberAt(vp);
      if (!Number.isFinite(value)) {
        this.addReject(
          recordIndex,
          RejectReason.InvalidValue,
          metric.index,
          `${metric.name}: ${this.config.pathTexts[vp]} is not finite`,
          arrivalMs,
        );
        return false;
      }
    }

    // Dimensions -> group id.
    const dims = metric.dimensionPaths;
    const tuple = this.groupScratch;
    tuple[0] = metric.index;
    let valueBytes = 0;
    for (let d = 0; d < dims.length; d++) {
      const id = this.dimensionId(dims[d]);
      if (id >= 0) valueBytes += this.strings.byteLength(id);
      if (id < 0) {
        this.addReject(
          recordIndex,
          RejectReason.InvalidDimension,
          metric.index,
          `${metric.name}: ${this.config.pathTexts[dims[d]]} is an object or an array`,
          arrivalMs,
        );
        return false;
      }
      tuple[d + 1] = id;
    }
    // Escaping at most triples a value's bytes: only a batch with long values takes the exact count.
    if (metric.name.length + dims.length + 3 * valueBytes > MAX_PARTITION_KEY_BYTES) {
      const keyBytes = this.partitionKeyBytes(metric, dims.length);
      if (keyBytes > MAX_PARTITION_KEY_BYTES) {
        this.addReject(
          recordIndex,
          RejectReason.KeyTooLong,
          metric.index,
          `${metric.name}: the counter key of these dimension values is ${keyBytes} bytes, over DynamoDB's ${MAX_PARTITION_KEY_BYTES}-byte partition key limit`,
          arrivalMs,
        );
        return false;
      }
    }
    const group = this.groupOf(dims.length);

    // Distinct value hash, once per event.
    let hasDistinct = false;
    if (metric.hasDistinct) hasDistinct = this.hashDistinct(metric.distinctPath);

    // One cell per window size.
    const windows = metric.windows;
    for (let w = 0; w < windows.length; w++) {
      const size = windows[w].sizeMs;
      const windowStart = w === 0 ? finestStart : Math.floor(timeMs / size) * size;
      times[T_WINDOW_START] = windowStart;
      const cacheSlot = group * MAX_WINDOWS_PER_METRIC + w;
      let cell: number;
      let created = false;
      if (
        cacheSlot < this.cellCacheCell.length &&
        this.cellCacheBatch[cacheSlot] === this.batchSerial &&
        this.cellCacheStart[cacheSlot] === windowStart
      ) {
        cell = this.cellCacheCell[cacheSlot];
      } else {
        cell = this.cellKeys.indexOfAt(group, w, times, T_WINDOW_START);
        created = this.cellKeys.created;
        this.cacheCell(cacheSlot, cell);
      }
      if (created && !this.foldInBatch) {
        this.initCell(cell, metric, recordIndex, false);
      } else if (created) {
        const inst = this.windowInstances.indexOfAt(metric.index, w, times, T_WINDOW_START);
        if (this.windowInstances.created) {
          if (inst >= this.instanceGroups.length) this.instanceGroups = growInt32(this.instanceGroups);
          this.instanceGroups[inst] = 0;
        }
        if (this.instanceGroups[inst] >= metric.maxGroupsPerWindow) {
          // Over the cap: this new group folds into __other__; its own cell stays empty and points there,
          // so the group's later events in this batch fold too.
          this.initCell(cell, metric, recordIndex, true);
          const other = this.otherCell(metric, dims.length, w, windowStart, recordIndex);
          this.cellFoldedInto[cell] = other;
          cell = other;
          this.foldedPerMetric[metric.index]++;
          this.addStat(recordIndex, metric.index, FOLDED_STAT, arrivalMs);
        } else {
          this.instanceGroups[inst]++;
          this.initCell(cell, metric, recordIndex, false);
        }
      } else if (this.cellFoldedInto[cell] >= 0) {
        cell = this.cellFoldedInto[cell];
        this.foldedPerMetric[metric.index]++;
        this.addStat(recordIndex, metric.index, FOLDED_STAT, arrivalMs);
      }
      this.cellCount[cell]++;
      this.cellLast[cell] = recordIndex;
      if (metric.needsValue) {
        this.cellSum[cell] += value;
        if (value < this.cellMin[cell]) this.cellMin[cell] = value;
        if (value > this.cellMax[cell]) this.cellMax[cell] = value;
        if (metric.hasQuantiles) this.sketchPool[this.cellSketch[cell]].add(value);
      }
      // As int32 (addHash only uses bitwise ops): a uint32 >= 2^31 is not a Smi and was boxed per call, 16 B each.
      if (hasDistinct) this.hllPool[this.cellHll[cell]].addHash(this.hashOut[0] | 0, this.hashOut[1] | 0);
    }
    return true;
  }

  /**
   * Cold path: UTF-8 bytes of the counter item's partition key for groupScratch's values, as the sink's
   * `counterPk` builds it: `<metric>#<v1>|<v2>...`, with `%`, `#` and `|` escaped to three bytes each.
   */
  private partitionKeyBytes(metric: CompiledMetric, dimCount: number): number {
    let n = metric.name.length + 1 + Math.max(0, dimCount - 1);
    for (let d = 0; d < dimCount; d++) {
      const bytes = this.strings.bytesOf(this.groupScratch[d + 1]);
      n += bytes.length;
      for (let k = 0; k < bytes.length; k++) {
        const b = bytes[k];
        if (b === 0x25 || b === 0x23 || b === 0x7c) n += 2;
      }
    }
    return n;
  }

  /** Remembers `cell` as the one of times[T_WINDOW_START] for `cacheSlot`, growing the cache as needed. */
  private cacheCell(cacheSlot: number, cell: number): void {
    while (cacheSlot >= this.cellCacheCell.length) {
      this.cellCacheBatch = growInt32(this.cellCacheBatch);
      this.cellCacheStart = growFloat64(this.cellCacheStart);
      this.cellCacheCell = growInt32(this.cellCacheCell);
    }
    this.cellCacheBatch[cacheSlot] = this.batchSerial;
    this.cellCacheStart[cacheSlot] = this.times[T_WINDOW_START];
    this.cellCacheCell[cacheSlot] = cell;
  }

  private otherCell(
    metric: CompiledMetric,
    dimCount: number,
    w: number,
    windowStart: number,
    recordIndex: number,
  ): number {
    const tuple = this.groupScratch;
    tuple[0] = metric.index;
    for (let d = 0; d < dimCount; d++) tuple[d + 1] = this.otherId;
    const group = this.groupOf(dimCount);
    const cell = this.cellKeys.indexOf(group, w, windowStart);
    if (this.cellKeys.created) this.initCell(cell, metric, recordIndex, false);
    return cell;
  }

  private initCell(cell: number, metric: CompiledMetric, recordIndex: number, unused: boolean): void {
    if (cell >= this.cellCount.length) this.growCells();
    this.cellCount[cell] = 0;
    this.cellSum[cell] = 0;
    this.cellMin[cell] = Number.POSITIVE_INFINITY;
    this.cellMax[cell] = Number.NEGATIVE_INFINITY;
    this.cellFirst[cell] = recordIndex;
    this.cellLast[cell] = recordIndex;
    this.cellHll[cell] = -1;
    this.cellSketch[cell] = -1;
    this.cellFoldedInto[cell] = -1;
    if (unused) return;
    if (metric.hasDistinct) {
      if (this.hllUsed === this.hllPool.length) this.hllPool.push(new HyperLogLog());
      this.cellHll[cell] = this.hllUsed++;
    }
    if (metric.hasQuantiles) {
      if (this.sketchUsed === this.sketchPool.length) this.sketchPool.push(new DDSketch());
      this.cellSketch[cell] = this.sketchUsed++;
    }
  }

  private growCells(): void {
    this.cellCount = growFloat64(this.cellCount);
    this.cellSum = growFloat64(this.cellSum);
    this.cellMin = growFloat64(this.cellMin);
    this.cellMax = growFloat64(this.cellMax);
    this.cellFirst = growInt32(this.cellFirst);
    this.cellLast = growInt32(this.cellLast);
    this.cellHll = growInt32(this.cellHll);
    this.cellSketch = growInt32(this.cellSketch);
    this.cellFoldedInto = growInt32(this.cellFoldedInto);
  }

  /**
   * hot path: the group id of groupScratch[0 .. dimCount]. Tuples of up to GROUP_CACHE_WIDTH ints go
   * through a direct-mapped cache first (a few int compares instead of hashing and comparing the tuple's
   * bytes in the interner); groups stay interned across batches, so it is nearly always a hit. Measured,
   * core on the bench batch, interleaved A/B in one process (median CPU ms): 21.6-22.8 -> 20.7-21.9.
   */
  private groupOf(dimCount: number): number {
    const tuple = this.groupScratch;
    const length = dimCount + 1;
    if (length > GROUP_CACHE_WIDTH) return this.internGroup(length);
    let h = 0x9e3779b9;
    for (let k = 0; k < length; k++) h = Math.imul(h ^ tuple[k], 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    const slot = (h ^ (h >>> 13)) & (GROUP_CACHE_SLOTS - 1);
    const cached = this.groupCacheId[slot];
    if (cached >= 0 && this.groupCacheLength[slot] === length) {
      const base = slot * GROUP_CACHE_WIDTH;
      let k = 0;
      while (k < length && this.groupCacheTuple[base + k] === tuple[k]) k++;
      if (k === length) return cached;
    }
    const group = this.internGroup(length);
    this.groupCacheId[slot] = group;
    this.groupCacheLength[slot] = length;
    for (let k = 0; k < length; k++) this.groupCacheTuple[slot * GROUP_CACHE_WIDTH + k] = tuple[k];
    return group;
  }

  private internGroup(length: number): number {
    const group = this.groups.intern(this.groupScratchBytes, 0, length * 4);
    if (group >= this.groupMetric.length) this.groupMetric = growInt32(this.groupMetric);
    this.groupMetric[group] = this.groupScratch[0];
    return group;
  }

  /** Interned id of the dimension value at `path`, or -1 when it is an object or array. */
  private dimensionId(path: number): number {
    switch (this.curKinds[path]) {
      case ValueKind.String: {
        const len = this.stringBytes(path);
        return this.curEscaped[path] !== 0
          ? this.strings.intern(this.scratch, 0, len)
          : this.strings.intern(this.curBytes, this.curStarts[path], this.curStarts[path] + len);
      }
      case ValueKind.Number:
        // Numbers group by their JS string form, as `String(JSON.parse(...).field)` would.
        return this.strings.internString(String(this.numberAt(path)));
      case ValueKind.True:
        return this.trueId;
      case ValueKind.False:
        return this.falseId;
      case ValueKind.Missing:
      case ValueKind.Null:
        return this.noneId;
      default:
        return -1;
    }
  }

  /** Hashes the distinct field into hashOut; false when the field is missing, null or not a scalar. */
  private hashDistinct(path: number): boolean {
    const kind = this.curKinds[path];
    if (kind === ValueKind.String) {
      const len = this.stringBytes(path);
      if (this.curEscaped[path] !== 0) hash64(this.scratch, 0, len, this.hashOut);
      else hash64(this.curBytes, this.curStarts[path], this.curStarts[path] + len, this.hashOut);
      return true;
    }
    if (kind === ValueKind.Number || kind === ValueKind.True || kind === ValueKind.False) {
      // Numbers and booleans hash as their text, so 42 and "42" count as one value.
      const text = kind === ValueKind.Number ? String(this.numberAt(path)) : kind === ValueKind.True ? 'true' : 'false';
      const n = this.encoder.encodeInto(text, this.scratch).written;
      hash64(this.scratch, 0, n, this.hashOut);
      return true;
    }
    return false;
  }

  /** hot path (ISO strings): the event time at `path` into times[T_EVENT], NaN when unreadable. */
  private readTime(path: number, format: number, kind: number): void {
    if (format === TimeFormatCode.Iso8601 && kind === ValueKind.String) {
      const len = this.stringBytes(path);
      const escaped = this.curEscaped[path] !== 0;
      const src = escaped ? this.scratch : this.curBytes;
      const off = escaped ? 0 : this.curStarts[path];
      if (parseIsoTimestampInto(src, off, off + len, this.times, T_EVENT)) return;
    }
    this.times[T_EVENT] = this.readTimeSlow(path, format, kind);
  }

  /** Shapes the ISO fast path does not take, and epoch numbers; allocates. */
  private readTimeSlow(path: number, format: number, kind: number): number {
    if (format === TimeFormatCode.Iso8601) {
      if (kind !== ValueKind.String) return Number.NaN;
      // Rare shapes (no zone, week dates...): let Date.parse decide.
      if (!this.curIsImage) return Date.parse(this.scanner.stringAt(this.curBytes, path));
      const len = this.stringBytes(path);
      const src = this.curEscaped[path] !== 0 ? this.scratch : this.curBytes;
      const off = this.curEscaped[path] !== 0 ? 0 : this.curStarts[path];
      return Date.parse(new TextDecoder().decode(src.subarray(off, off + len)));
    }
    let n: number;
    if (kind === ValueKind.Number) n = this.numberAt(path);
    else if (kind === ValueKind.String)
      n = Number(
        this.curIsImage
          ? new TextDecoder().decode(this.curBytes.subarray(this.curStarts[path], this.curEnds[path]))
          : this.scanner.stringAt(this.curBytes, path),
      );
    else return Number.NaN;
    if (!Number.isFinite(n)) return Number.NaN;
    return format === TimeFormatCode.EpochSeconds ? Math.round(n * 1000) : Math.round(n);
  }

  // ---------------------------------------------------------------------------------------------
  // DynamoDB images -> the same field tables the JSON scanner fills

  // ---------------------------------------------------------------------------------------------
  // Rejects and statistics (cold path)

  private addReject(
    recordIndex: number,
    reason: RejectReason,
    metricIndex: number,
    detail: string,
    arrivalMs: number,
  ): void {
    this.rejectLog.reject(
      recordIndex,
      reason,
      metricIndex,
      detail,
      Number.isNaN(arrivalMs) ? this.times[T_ARRIVAL] : arrivalMs,
    );
  }

  private addStat(recordIndex: number, metricIndex: number, name: string, arrivalMs: number): void {
    this.rejectLog.count(recordIndex, metricIndex, name, arrivalMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Results

  /** Number of counter cells touched in this batch. */
  get cellsUsed(): number {
    return this.cellKeys.size;
  }

  /** The counter deltas of this batch, one per (metric, dimension values, window, window start). */
  cells(): CellDelta[] {
    const out: CellDelta[] = [];
    const n = this.cellKeys.size;
    for (let cell = 0; cell < n; cell++) {
      const group = this.cellKeys.a(cell);
      const metric = this.metrics[this.groupMetric[group]];
      // A group folded into __other__ before its first count. A state cell is kept even when its moves
      // cancel out: its write records the batch's progress, so a retried suffix is not applied alone.
      if (this.cellCount[cell] === 0 && metric.kind !== 'state') continue;
      const tupleBytes = this.groups.bytesOf(group);
      const tuple = new Int32Array(tupleBytes.slice().buffer);
      const dimensionValues: string[] = [];
      for (let d = 1; d < tuple.length; d++) dimensionValues.push(this.strings.stringOf(tuple[d]));
      out.push({
        metric,
        window: metric.kind === 'state' ? LEVEL_WINDOW : metric.windows[this.cellKeys.b(cell)],
        windowStartMs: this.cellKeys.c(cell),
        dimensionValues,
        count: this.cellCount[cell],
        sum: this.cellSum[cell],
        min: this.cellMin[cell],
        max: this.cellMax[cell],
        hll: this.cellHll[cell] >= 0 ? this.hllPool[this.cellHll[cell]] : null,
        sketch: this.cellSketch[cell] >= 0 ? this.sketchPool[this.cellSketch[cell]] : null,
        firstRecord: this.cellFirst[cell],
        lastRecord: this.cellLast[cell],
      });
    }
    return out;
  }

  /** Reject statistics per metric and arrival bucket, including groups folded over the cap. */
  statistics(): StatsDelta[] {
    return this.rejectLog.statistics();
  }

  /** Groups folded into `__other__` this batch, per metric index. */
  folded(metricIndex: number): number {
    return this.foldedPerMetric[metricIndex];
  }

  /** Every event not counted by a metric (or by any metric), with its record index and reason. */
  rejected(): ReadonlyArray<RejectEntry> {
    return this.rejectLog.entries;
  }

  /** Events rejected this batch, per metric (an event rejected by two metrics counts twice). */
  get rejectedEvents(): number {
    return this.rejectLog.total;
  }
}

/**
 * The position of the LF ending the first line, when the JSON value at bytes[pos, next) lies on that line
 * alone (no LF inside it, only spaces, tabs or CR after it); -1 otherwise.
 */
function endOfFirstLine(bytes: Uint8Array, pos: number, next: number, end: number): number {
  for (let k = pos; k < next; k++) if (bytes[k] === 0x0a) return -1;
  let k = next;
  while (k < end) {
    const b = bytes[k];
    if (b === 0x0a) return k;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return -1;
    k++;
  }
  return -1;
}
