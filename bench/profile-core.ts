/**
 * Where the core's time and allocations go: CPU profile and sampling heap profile (node:inspector) of
 * the `core` case on the 10,000-record batch, summarised as self time and allocated bytes per function.
 *   npx tsx bench/profile-core.ts [batches]
 */
import { Session } from 'node:inspector/promises';
import { buildBatch } from './batch.js';
import { compileBenchConfig } from './bench-config.js';
import { CoreCase } from './cases.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const RECORDS = 10_000;
const WARMUP_BATCHES = 30;
const TOP = 15;

function where(frame: { functionName: string; url: string; lineNumber: number }): string {
  const file = frame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

const batches = Number(process.argv[2] ?? 200);
const batch = buildBatch(RECORDS);
const core = new CoreCase(compileBenchConfig());
let sink = 0;
for (let k = 0; k < WARMUP_BATCHES; k++) sink += core.run(batch.records);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
for (let k = 0; k < batches; k++) sink += core.run(batch.records);
const { profile } = (await session.post('Profiler.stop')) as unknown as {
  profile: { nodes: ProfileNode[]; samples: number[] };
};

const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const key = where(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + hits);
}
console.log(`CPU self time, core @ ${RECORDS} records x ${batches} batches (${total} samples):`);
for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`  ${((100 * hits) / total).toFixed(1).padStart(5)} %  ${key}`);

await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 32,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const heapBatches = Math.max(1, Math.floor(batches / 10));
for (let k = 0; k < heapBatches; k++) sink += core.run(batch.records);
const { profile: heap } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
  profile: { head: HeapNode };
};
const bytes = new Map<string, number>();
let allocated = 0;
const walk = (node: HeapNode): void => {
  if (node.selfSize > 0) {
    const key = where(node.callFrame);
    bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    allocated += node.selfSize;
  }
  for (const child of node.children) walk(child);
};
walk(heap.head);
const records = heapBatches * RECORDS;
console.log(
  `\nSampled allocation, core @ ${RECORDS} records x ${heapBatches} batches: ~${(allocated / records).toFixed(1)} B/record`,
);
for (const [key, n] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`  ${(n / records).toFixed(1).padStart(7)} B/record  ${key}`);
session.disconnect();
console.log(`\n(consumed ${sink})`);
