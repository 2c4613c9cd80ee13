/**
 * JsonFieldScanner vs JSON.parse on ~200-byte clickstream records, reading 4 fields.
 * Run: `npx tsx bench/json-scan.bench.ts`; for allocation figures too:
 * `NODE_OPTIONS='--expose-gc --max-semi-space-size=64' npx tsx bench/json-scan.bench.ts`.
 * Both sides run in the same process, with warm-up, setup outside the timed part and results consumed.
 */
import { JsonFieldScanner, ValueKind } from '../src/core/json-scan.js';

const RECORD_COUNTS = [1, 100, 1_000, 10_000];
const WARMUP_ROUNDS = 30;
const SAMPLES = 9;
const MIN_RECORDS_PER_SAMPLE = 100_000;
const COUNTRIES = ['FR', 'DE', 'US', 'BR', 'JP', 'IN', 'GB', 'ES'];
const PAGES = ['/', '/products', '/products/42', '/cart', '/checkout', '/search?q=shoes'];

function makeRecords(count: number, rawFloats = false): Buffer[] {
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const event = {
      eventId: `evt-${(i * 2654435761) >>> 0}-${i.toString(16).padStart(8, '0')}`,
      type: 'page_view',
      ts: new Date(Date.UTC(2026, 0, 15, 12, 0, 0) + i * 37).toISOString(),
      userId: `u-${(i * 7919) % 50_000}`,
      country: COUNTRIES[i % COUNTRIES.length],
      page: PAGES[i % PAGES.length],
      // Rounded latencies take numberAt's fast path; raw float products print up to 17 digits and do not.
      latencyMs: rawFloats ? ((i * 31) % 2000) * 0.137 : Math.round(((i * 31) % 2000) * 1.37) / 10,
      device: { os: i % 3 === 0 ? 'ios' : 'android', version: `${14 + (i % 4)}.${i % 10}` },
      tags: ['web', i % 2 === 0 ? 'ab-test-a' : 'ab-test-b'],
    };
    records.push(Buffer.from(JSON.stringify(event)));
  }
  return records;
}

interface ClickEvent {
  ts?: unknown;
  country?: unknown;
  latencyMs?: unknown;
  device?: { os?: unknown };
}

function runJsonParse(records: Buffer[]): number {
  let checksum = 0;
  for (let r = 0; r < records.length; r++) {
    const event = JSON.parse(records[r].toString('utf8')) as ClickEvent;
    if (typeof event.latencyMs === 'number') checksum += event.latencyMs;
    if (typeof event.country === 'string') checksum += event.country.length;
    if (typeof event.ts === 'string') checksum += event.ts.length;
    if (event.device !== null && typeof event.device === 'object' && typeof event.device.os === 'string')
      checksum += event.device.os.length;
  }
  return checksum;
}

function runScanner(scanner: JsonFieldScanner, records: Buffer[]): number {
  let checksum = 0;
  for (let r = 0; r < records.length; r++) {
    const bytes = records[r];
    if (scanner.scan(bytes, 0, bytes.length) < 0) throw new Error(`record ${r} is not valid JSON`);
    if (scanner.kinds[0] === ValueKind.Number) checksum += scanner.numberAt(bytes, 0);
    // Strings are consumed as byte spans, as the aggregator does (interned by bytes, not decoded).
    if (scanner.kinds[1] === ValueKind.String) checksum += scanner.ends[1] - scanner.starts[1];
    if (scanner.kinds[2] === ValueKind.String) checksum += scanner.ends[2] - scanner.starts[2];
    if (scanner.kinds[3] === ValueKind.String) checksum += scanner.ends[3] - scanner.starts[3];
  }
  return checksum;
}

/** Milliseconds per call of `fn`, the median of SAMPLES samples of enough calls to cover MIN_RECORDS_PER_SAMPLE. */
function sampleMs(fn: () => number, count: number): { ms: number; result: number } {
  const rounds = Math.max(3, Math.ceil(MIN_RECORDS_PER_SAMPLE / count));
  let result = 0;
  const start = performance.now();
  for (let k = 0; k < rounds; k++) result += fn();
  return { ms: (performance.now() - start) / rounds, result };
}

const median = (values: number[]): number => values.slice().sort((a, b) => a - b)[values.length >> 1];

/**
 * Heap bytes allocated per record by one pass, or NaN without `--expose-gc`. Exact only while no
 * scavenge runs during the pass: run with `--max-semi-space-size=64` so 10k records fit.
 */
function allocatedBytesPerRecord(fn: () => number, count: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return NaN;
  gc();
  const before = process.memoryUsage().heapUsed;
  fn();
  return (process.memoryUsage().heapUsed - before) / count;
}

const scanner = new JsonFieldScanner([['latencyMs'], ['country'], ['ts'], ['device', 'os']]);
const all = makeRecords(RECORD_COUNTS[RECORD_COUNTS.length - 1]);
const rawFloatRecords = makeRecords(RECORD_COUNTS[RECORD_COUNTS.length - 1], true);
const averageBytes = all.reduce((sum, b) => sum + b.length, 0) / all.length;
console.log(`node ${process.version}, ${all.length} records, ${averageBytes.toFixed(0)} bytes on average, 4 paths`);
console.log(`sample: ${all[1].toString()}`);

const runs: Array<[string, Buffer[]]> = RECORD_COUNTS.map((count) => [`${count} records`, all.slice(0, count)]);
runs.push(['10000 records, 17-digit latencies', rawFloatRecords]);
for (const [label, records] of runs) {
  const count = records.length;
  const expected = runJsonParse(records);
  if (Math.abs(expected - runScanner(scanner, records)) > 1e-9 * Math.abs(expected)) {
    // Same fields read both ways (ASCII data, so string lengths match byte lengths): agree before timing.
    throw new Error('JSON.parse and the scanner disagree');
  }
  for (let k = 0; k < WARMUP_ROUNDS; k++) {
    runJsonParse(records);
    runScanner(scanner, records);
  }
  // Interleaved samples, so background load hits both sides alike.
  const parseMs: number[] = [];
  const scanMs: number[] = [];
  let consumed = 0;
  for (let k = 0; k < SAMPLES; k++) {
    const parse = sampleMs(() => runJsonParse(records), count);
    const scan = sampleMs(() => runScanner(scanner, records), count);
    parseMs.push(parse.ms);
    scanMs.push(scan.ms);
    consumed += parse.result - scan.result;
  }
  const parseAllocated = allocatedBytesPerRecord(() => runJsonParse(records), count);
  const scanAllocated = allocatedBytesPerRecord(() => runScanner(scanner, records), count);
  const per10k = 10_000 / count;
  const parseMedian = median(parseMs);
  const scanMedian = median(scanMs);
  console.log(
    `${label}: JSON.parse ${(parseMedian * per10k).toFixed(2)} ms/10k, ${parseAllocated.toFixed(0)} B/record;` +
      ` scanner ${(scanMedian * per10k).toFixed(2)} ms/10k, ${scanAllocated.toFixed(0)} B/record;` +
      ` JSON.parse/scanner ${(parseMedian / scanMedian).toFixed(2)}x (min ${(Math.min(...parseMs) / Math.min(...scanMs)).toFixed(2)}x)`,
  );
  // Results consumed: both sides sum the same fields in the same order, so the difference is exactly 0.
  if (consumed !== 0) throw new Error(`checksums drifted by ${consumed}`);
}
