import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordDecoder } from '../../../src/sources/dynamodb.js';
import { KinesisRecordDecoder } from '../../../src/sources/kinesis.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const TSX = resolve(REPO_ROOT, 'node_modules/.bin/tsx');
const CLI = resolve(REPO_ROOT, 'src/cli/events.ts');
const workDir = mkdtempSync(join(tmpdir(), 'streamtally-events-cli-'));

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(TSX, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runCliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, rejectPromise) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', rejectPromise);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

function decodeKinesis(event: KinesisStreamEvent): RecordingSink {
  const sink = new RecordingSink();
  new KinesisRecordDecoder({ maxDecompressedBytes: 1 << 20 }).decode(event.Records, sink);
  return sink;
}

describe('events CLI', () => {
  it('writes the requested number of Kinesis records on the requested shard, deterministic for a seed', () => {
    // Prepare
    const first = join(workDir, 'a.json');
    const second = join(workDir, 'b.json');
    const other = join(workDir, 'c.json');
    // Act
    const runs = [
      runCli(['--records', '250', '--out', first, '--seed', '42', '--shard', 'shardId-000000000003']),
      runCli(['--records', '250', '--out', second, '--seed', '42', '--shard', 'shardId-000000000003']),
      runCli(['--records', '250', '--out', other, '--seed', '43', '--shard', 'shardId-000000000003']),
    ];
    // Assess
    for (const run of runs) expect(run.status, run.stderr).toBe(0);
    const event = JSON.parse(readFileSync(first, 'utf8')) as KinesisStreamEvent;
    expect(event.Records).toHaveLength(250);
    expect(event.Records.every((r) => r.eventID.startsWith('shardId-000000000003:'))).toBe(true);
    expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
    expect(readFileSync(other, 'utf8')).not.toBe(readFileSync(first, 'utf8'));
    const sink = decodeKinesis(event);
    expect(sink.rejects()).toEqual([]);
    for (const call of sink.json())
      expect(JSON.parse(call.text)).toMatchObject({ type: expect.any(String), ts: expect.any(String) });
  });

  it.each([
    ['kpl', 3_000],
    ['ndjson', 95],
    ['cdc', 40],
  ])('--kind %s carries exactly --records events', (kind, count) => {
    const out = join(workDir, `${kind}.json`);
    const run = runCli(['--records', String(count), '--out', out, '--kind', kind]);
    expect(run.status, run.stderr).toBe(0);
    const sink = decodeKinesis(JSON.parse(readFileSync(out, 'utf8')) as KinesisStreamEvent);
    expect(sink.rejects()).toEqual([]);
    const events =
      kind === 'cdc' ? sink.images().length : sink.json().reduce((n, c) => n + c.text.trim().split('\n').length, 0);
    expect(events).toBe(count);
  });

  it('--kind dynamodb writes a DynamoDB Streams event', () => {
    const out = join(workDir, 'ddb.json');
    expect(runCli(['--records', '120', '--out', out, '--kind', 'dynamodb']).status).toBe(0);
    const event = JSON.parse(readFileSync(out, 'utf8')) as DynamoDBStreamEvent;
    expect(event.Records).toHaveLength(120);
    const sink = new RecordingSink();
    new DynamoDbRecordDecoder().decode(event.Records, sink);
    expect(sink.images()).toHaveLength(120);
  });

  it('prints progress on stderr for large counts', () => {
    const run = runCli(['--records', '20000', '--out', join(workDir, 'large.json')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('20,000 / 20,000');
    expect(run.stdout).toContain('20,000 Lambda records');
  });

  it('exits 2 with an error and the usage for bad arguments', async () => {
    const badArgs = [
      [],
      ['--records', '10'],
      ['--records', 'ten', '--out', 'x.json'],
      ['--records', '0', '--out', 'x.json'],
      ['--records', '10', '--out', 'x.json', '--kind', 'kafka'],
      ['--records', '10', '--out', 'x.json', '--seed', '1.5'],
      ['--records', '10', '--out', 'x.json', '--shard', 'shard-1'],
      ['--records', '10', '--out', 'x.json', '--bogus'],
      ['--samples', 'events', '--records', '10'],
    ];
    // Child processes in parallel: each one pays tsx start-up.
    const runs = await Promise.all(badArgs.map((args) => runCliAsync(args)));
    for (let k = 0; k < runs.length; k++) {
      const label = JSON.stringify(badArgs[k]);
      expect(runs[k].status, label).toBe(2);
      expect(runs[k].stderr, label).toContain('error: ');
      expect(runs[k].stderr, label).toContain('Usage: npm run events');
    }
  });

  it('--help prints usage and exits 0', () => {
    const run = runCli(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--kind KIND');
  });

  it('--samples writes every sample event', () => {
    const dir = join(workDir, 'samples');
    const run = runCli(['--samples', dir]);
    expect(run.status, run.stderr).toBe(0);
    for (const name of [
      'kinesis-clickstream.json',
      'kinesis-poison.json',
      'kinesis-kpl.json',
      'kinesis-cloudwatch-logs.json',
      'kinesis-tumbling-window.json',
      'kinesis-ndjson.json',
      'dynamodb-orders.json',
      'dynamodb-tumbling-window.json',
    ]) {
      const generated = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { Records: unknown[] };
      const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'events', name), 'utf8')) as { Records: unknown[] };
      expect(generated.Records.length, name).toBe(committed.Records.length);
    }
  });
});
