/**
 * Every CLI's bad-argument paths, as a user meets them: the real entry point in a child process. A bad
 * argument prints the error and the usage and exits 2; a user error never prints a stack; the AWS SDK's
 * Node-version notice never appears. Prepare / Act / Assess.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = mkdtempSync(join(tmpdir(), 'streamtally-cli-'));

function run(cli: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  // One node process with tsx's loader, as `npm run <cli>` runs it (without npm's own banner).
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED; // each CLI must silence it itself
  const out = spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${cli}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

const STACK_LINE = /^\s+at .+[(:]\d+/m;

const BAD: Array<[cli: string, args: string[], message: RegExp]> = [
  ['start', ['--rate', 'x'], /^error: --rate must be a positive number, got "x"/],
  ['start', ['--rate', '-5'], /^error: --rate must be a positive number, got "-5"/],
  ['start', ['--chaos', '0'], /^error: --chaos must be a positive integer/],
  ['start', ['--port', '70000'], /--port must be a port number/],
  ['start', ['--endpoint', 'not a url'], /--endpoint must be a URL/],
  ['start', ['--bogus'], /^error: Unknown option '--bogus'/],
  ['produce', [], /^error: missing required option --stream NAME/],
  ['produce', ['--stream', 's', '--seed', '-1'], /--seed must be a non-negative integer, got "-1"/],
  ['produce', ['--stream', 's', '--rate', '-10'], /--rate must be a positive number, got "-10"/],
  ['produce', ['--stream', 's', '--file', DIR], /cannot read --file .*EISDIR/],
  ['produce', ['--stream', 's', '--endpoint', 'nope'], /--endpoint must be a URL/],
  ['produce', ['--stream', '--rate', '5'], /Option '--stream' argument is ambiguous/],
  ['events', ['--records', '-3', '--out', 'x.json'], /--records must be an integer, got "-3"/],
  ['events', ['--records', '10', '--out', DIR], /--out .* is a directory/],
  ['events', ['--kind', 'nope', '--records', '1', '--out', 'x.json'], /--kind must be one of/],
  ['invoke', [], /give exactly one event file/],
  ['invoke', [DIR], /cannot read the event .*EISDIR/],
  ['invoke', ['events/kinesis-clickstream.json', '--endpoint', 'nope'], /--endpoint must be a URL/],
  ['replay', [], /missing required option --queue-url URL/],
  ['replay', ['--queue-url', 'nope'], /--queue-url must be a URL/],
  [
    'replay',
    ['--queue-url', 'http://127.0.0.1:9/q', '--max-messages', '-2'],
    /--max-messages must be a positive integer, got "-2"/,
  ],
  ['replay', ['--queue-url', 'http://127.0.0.1:9/q', '--endpoint', 'ftp://x'], /--endpoint must be an http/],
  ['replay', ['--queue-url', 'http://127.0.0.1:9/q', '--s3-endpoint', 'nope'], /--s3-endpoint must be a URL/],
  [
    'replay',
    ['--queue-url', 'http://127.0.0.1:9/q', '--failure-bucket', 'Bad_Bucket'],
    /--failure-bucket must be an S3 bucket name .*got "Bad_Bucket"/,
  ],
];

describe('bad arguments: usage and exit 2, no stack', () => {
  it.each(BAD)('%s %j', (cli, args, message) => {
    // Act
    const out = run(cli, args);

    // Assess
    expect(out.status, out.stderr).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toMatch(/\nUsage: npm (start|run \w+) --/);
    expect(out.stderr).not.toMatch(STACK_LINE);
    expect(out.stderr).not.toMatch(/NodeVersion|no longer support|Node\.js version/i);
    expect(out.stderr).not.toMatch(/----/);
  });
});

describe('help', () => {
  it.each(['start', 'produce', 'events', 'invoke', 'replay'])('%s --help prints usage with examples, exit 0', (cli) => {
    const out = run(cli, ['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^Usage: /);
    expect(out.stdout).toMatch(/\nExamples:\n/);
  });

  it('examples use the real stream name and say where the endpoint comes from', () => {
    const produce = run('produce', ['--help']).stdout;
    expect(produce).toContain('--stream streamtally-dev-events');
    expect(produce).toContain('the kinesis= URL npm start prints');
    expect(produce).not.toMatch(/--stream streamtally-events\b/);
  });
});

describe('user errors after parsing: a message, not a stack', () => {
  it('replay against a queue nobody serves exits 1 with one line naming the cause', () => {
    const out = run('replay', ['--queue-url', 'http://127.0.0.1:9/000000000000/q', '--endpoint', 'http://127.0.0.1:9']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/npm run replay failed: .*(ECONNREFUSED|connect)/);
    expect(out.stderr).not.toMatch(STACK_LINE);
    expect(out.stderr).not.toMatch(/NodeVersion|no longer support/i);
  });
});
