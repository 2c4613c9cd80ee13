/**
 * Sketch costs: ns per add for HyperLogLog and DDSketch over 1e6 values, and the per-cell costs paid at
 * flush (merge, serialize, deserialize, mergeSerialized) with serialized sizes.
 * Run: `npx tsx bench/sketch.bench.ts`; for allocation figures too:
 * `NODE_OPTIONS='--expose-gc' npx tsx bench/sketch.bench.ts`.
 * Each case runs warm-up rounds first, keeps setup outside the timed part, consumes its result, and
 * reports the median of several samples. The baseline (a Uint32Array increment per value) runs in the
 * same process so numbers from different machines can be compared as ratios.
 */
import { murmur3x86_128, murmur3x86_32 } from '../src/core/hash.js';
import { DDSketch } from '../src/core/sketch/ddsketch.js';
import { HyperLogLog } from '../src/core/sketch/hyperloglog.js';
import { mulberry32 } from '../src/samples/prng.js';

const VALUE_COUNT = 1_000_000;
const WARMUP_ROUNDS = 3;
const SAMPLES = 7;
const FLUSH_REPEATS = 2_000;

const gc = (globalThis as { gc?: () => void }).gc;
let sink = 0;

/** Keys like `user-123456` packed in one buffer, as the aggregator sees them: byte ranges of a record. */
function makeKeys(count: number): { bytes: Uint8Array; starts: Uint32Array } {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const key = encoder.encode(`user-${(i * 2654435761) >>> 0}`);
    parts.push(key);
    total += key.length;
  }
  const bytes = new Uint8Array(total);
  const starts = new Uint32Array(count + 1);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    starts[i] = pos;
    bytes.set(parts[i], pos);
    pos += parts[i].length;
  }
  starts[count] = pos;
  return { bytes, starts };
}

function makeLatencies(count: number): Float64Array {
  const rand = mulberry32(7);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    out[i] = Math.exp(3 + 1.5 * normal); // lognormal latency in ms, median ~20 ms
  }
  return out;
}

interface Result {
  nsPerOp: number;
  bytesPerOp: number;
}

/** Median ns per op over SAMPLES runs of `run`, which performs `ops` operations. */
function measure(ops: number, run: () => number): Result {
  for (let i = 0; i < WARMUP_ROUNDS; i++) sink += run();
  const times: number[] = [];
  let allocated = 0;
  for (let s = 0; s < SAMPLES; s++) {
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    sink += run();
    const t1 = process.hrtime.bigint();
    allocated += Math.max(0, process.memoryUsage().heapUsed - heapBefore);
    times.push(Number(t1 - t0) / ops);
  }
  times.sort((a, b) => a - b);
  return { nsPerOp: times[SAMPLES >> 1], bytesPerOp: allocated / SAMPLES / ops };
}

function report(name: string, r: Result, extra = ''): void {
  const alloc = gc ? `${r.bytesPerOp.toFixed(2).padStart(9)} B/op` : '';
  console.log(`${name.padEnd(44)} ${r.nsPerOp.toFixed(1).padStart(9)} ns/op ${alloc} ${extra}`);
}

const keys = makeKeys(VALUE_COUNT);
const latencies = makeLatencies(VALUE_COUNT);
const hashOut = new Uint32Array(4);
const counters = new Uint32Array(4096);

console.log(
  `node ${process.version}, ${VALUE_COUNT.toLocaleString('en')} values per add sample${gc ? '' : ' (run with --expose-gc for allocation figures)'}`,
);

report(
  'baseline: Uint32Array[i & 4095]++',
  measure(VALUE_COUNT, () => {
    for (let i = 0; i < VALUE_COUNT; i++) counters[i & 4095]++;
    return counters[7];
  }),
);

report(
  'murmur3x86_32 (avg 15-byte key)',
  measure(VALUE_COUNT, () => {
    let x = 0;
    for (let i = 0; i < VALUE_COUNT; i++) x ^= murmur3x86_32(keys.bytes, keys.starts[i], keys.starts[i + 1], 0);
    return x;
  }),
);

report(
  'murmur3x86_128 (avg 15-byte key)',
  measure(VALUE_COUNT, () => {
    let x = 0;
    for (let i = 0; i < VALUE_COUNT; i++) {
      murmur3x86_128(keys.bytes, keys.starts[i], keys.starts[i + 1], 0, hashOut);
      x ^= hashOut[0];
    }
    return x;
  }),
);

const hll = new HyperLogLog(12);
report(
  'HyperLogLog p=12 addBytes (hash + register)',
  measure(VALUE_COUNT, () => {
    hll.reset();
    for (let i = 0; i < VALUE_COUNT; i++) hll.addBytes(keys.bytes, keys.starts[i], keys.starts[i + 1]);
    return hll.estimate();
  }),
);

const preHashedHi = new Uint32Array(VALUE_COUNT);
const preHashedLo = new Uint32Array(VALUE_COUNT);
for (let i = 0; i < VALUE_COUNT; i++) {
  murmur3x86_128(keys.bytes, keys.starts[i], keys.starts[i + 1], 0, hashOut);
  preHashedHi[i] = hashOut[0];
  preHashedLo[i] = hashOut[1];
}
report(
  'HyperLogLog p=12 addHash (pre-hashed)',
  measure(VALUE_COUNT, () => {
    hll.reset();
    for (let i = 0; i < VALUE_COUNT; i++) hll.addHash(preHashedHi[i], preHashedLo[i]);
    return hll.estimate();
  }),
);

const dd = new DDSketch(0.01);
report(
  'DDSketch alpha=0.01 add (lognormal ms)',
  measure(VALUE_COUNT, () => {
    dd.reset();
    for (let i = 0; i < VALUE_COUNT; i++) dd.add(latencies[i]);
    return dd.count;
  }),
);

// Flush-time costs, per counter cell.
console.log('\nper-cell flush costs');
const hllFull = new HyperLogLog(12);
for (let i = 0; i < 100_000; i++) hllFull.addBytes(keys.bytes, keys.starts[i], keys.starts[i + 1]);
const hllSmall = new HyperLogLog(12);
for (let i = 0; i < 100; i++) hllSmall.addBytes(keys.bytes, keys.starts[i], keys.starts[i + 1]);
const hllTarget = new HyperLogLog(12);
for (const [label, sketch] of [
  ['100k distinct', hllFull],
  ['100 distinct', hllSmall],
] as const) {
  const bytes = sketch.serialize();
  report(
    `HLL ${label}: serialize`,
    measure(FLUSH_REPEATS, () => {
      let n = 0;
      for (let i = 0; i < FLUSH_REPEATS; i++) n += sketch.serialize().length;
      return n;
    }),
    `(${bytes.length} bytes)`,
  );
  report(
    `HLL ${label}: deserialize`,
    measure(FLUSH_REPEATS, () => {
      let n = 0;
      for (let i = 0; i < FLUSH_REPEATS; i++) n += HyperLogLog.deserialize(bytes).precision;
      return n;
    }),
  );
  report(
    `HLL ${label}: mergeSerialized`,
    measure(FLUSH_REPEATS, () => {
      for (let i = 0; i < FLUSH_REPEATS; i++) hllTarget.mergeSerialized(bytes);
      return hllTarget.precision;
    }),
  );
  report(
    `HLL ${label}: merge`,
    measure(FLUSH_REPEATS, () => {
      for (let i = 0; i < FLUSH_REPEATS; i++) hllTarget.merge(sketch);
      return hllTarget.precision;
    }),
  );
}
report(
  'HLL p=12: estimate',
  measure(FLUSH_REPEATS, () => {
    let x = 0;
    for (let i = 0; i < FLUSH_REPEATS; i++) x += hllFull.estimate();
    return x;
  }),
);

const ddTypical = new DDSketch(0.01);
for (let i = 0; i < 100_000; i++) ddTypical.add(latencies[i]);
const ddTarget = new DDSketch(0.01);
const ddBytes = ddTypical.serialize();
report(
  'DDSketch 100k lognormal: serialize',
  measure(FLUSH_REPEATS, () => {
    let n = 0;
    for (let i = 0; i < FLUSH_REPEATS; i++) n += ddTypical.serialize().length;
    return n;
  }),
  `(${ddBytes.length} bytes, ${ddTypical.binCount()} bins)`,
);
report(
  'DDSketch 100k lognormal: deserialize',
  measure(FLUSH_REPEATS, () => {
    let n = 0;
    for (let i = 0; i < FLUSH_REPEATS; i++) n += DDSketch.deserialize(ddBytes).count;
    return n;
  }),
);
report(
  'DDSketch 100k lognormal: mergeSerialized',
  measure(FLUSH_REPEATS, () => {
    for (let i = 0; i < FLUSH_REPEATS; i++) ddTarget.mergeSerialized(ddBytes);
    return ddTarget.count;
  }),
);
report(
  'DDSketch 100k lognormal: merge',
  measure(FLUSH_REPEATS, () => {
    for (let i = 0; i < FLUSH_REPEATS; i++) ddTarget.merge(ddTypical);
    return ddTarget.count;
  }),
);
report(
  'DDSketch: 4 quantiles (p50/p90/p95/p99)',
  measure(FLUSH_REPEATS, () => {
    let x = 0;
    for (let i = 0; i < FLUSH_REPEATS; i++)
      x += ddTypical.quantile(0.5) + ddTypical.quantile(0.9) + ddTypical.quantile(0.95) + ddTypical.quantile(0.99);
    return x;
  }),
);

if (sink === 42) console.log('');
