/**
 * A process running the emulator exits by itself after SIGINT -> stop(): no timer or poll left behind.
 * Runs the emulator in a child process against real kinesis-local.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateStreamCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createAwsClients, type AwsClients } from '../../../src/local/aws/aws-clients.js';
import { startKinesisLocal, type LocalServer } from '../../../src/local/aws/servers.js';

const EXIT_DEADLINE_MS = 20_000;
const emulatorIndex = fileURLToPath(new URL('../../../src/local/emulator/index.ts', import.meta.url));
const awsClients = fileURLToPath(new URL('../../../src/local/aws/aws-clients.ts', import.meta.url));

let server: LocalServer;
let clients: AwsClients;

beforeAll(async () => {
  server = await startKinesisLocal();
  clients = createAwsClients({ endpoint: server.endpoint });
});

afterAll(async () => {
  clients?.kinesis.destroy();
  await server?.stop();
});

test('SIGINT -> stop() lets the process exit on its own', async () => {
  // Prepare: a batching window keeps a buffered record waiting when SIGINT arrives
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: 'sigint', ShardCount: 2 }));
  await clients.kinesis.send(
    new PutRecordsCommand({ StreamName: 'sigint', Records: [{ PartitionKey: 'a', Data: Buffer.from('x') }] }),
  );
  const script = `
    import { EventSourceMappingEmulator } from ${JSON.stringify(emulatorIndex)};
    import { createAwsClients } from ${JSON.stringify(awsClients)};
    const clients = createAwsClients({ endpoint: process.env.KINESIS_ENDPOINT });
    const esm = new EventSourceMappingEmulator({
      source: { kind: 'kinesis', stream: 'sigint' },
      settings: { StartingPosition: 'TRIM_HORIZON', BatchSize: 1 },
      handler: async (event) => { console.log('invoked ' + event.Records.length); },
      function: { name: 'sigint-fn' },
      clients,
    });
    process.once('SIGINT', async () => {
      await esm.stop();
      clients.kinesis.destroy();
      console.log('stopped');
    });
    await esm.start();
    console.log('ready');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, KINESIS_ENDPOINT: server.endpoint },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + EXIT_DEADLINE_MS;
  while (!stdout.includes('invoked 1')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`child never invoked the handler; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Act
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  const code = await exited;
  clearTimeout(timer);
  // Assess: SIGKILL would leave code null; a clean exit is 0 after 'stopped'
  expect({ code, stopped: stdout.includes('stopped') }, stderr).toEqual({ code: 0, stopped: true });
});
