/** `npm run invoke -- <event>`: the sam-local-invoke equivalent without Docker, run as a user runs it. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

describe('npm run invoke', () => {
  it('invokes the handler on a sample event and prints the response and the counters it wrote', () => {
    const out = spawnSync(TSX, ['src/cli/invoke.ts', 'events/kinesis-clickstream.json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const response = JSON.parse(/response:\n([\s\S]*?)\ncounters written/.exec(out.stdout)?.[1] ?? 'null') as {
      batchItemFailures: unknown[];
    };
    expect(response).toEqual({ batchItemFailures: [] });
    const items = Number(/counters written to \S+ \((\d+) items\)/.exec(out.stdout)?.[1]);
    expect(items).toBeGreaterThan(0);
    expect(out.stdout).toMatch(/page_views#\S+ +1m#\S+ +count=\d+ sum=/);
  }, 150_000);

  it('bad arguments print usage and exit 2', () => {
    const out = spawnSync(TSX, ['src/cli/invoke.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('npm run invoke --');
  }, 70_000);
});
