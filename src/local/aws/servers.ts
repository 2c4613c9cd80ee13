/**
 * Real AWS-API servers from npm (and moto_server where installed), started on free loopback ports.
 * Used by `npm start` and by the integration tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Every local server binds here, never to all interfaces. */
export const LOOPBACK = '127.0.0.1';
/** kinesis-local answers /healthcheck after ~1.4 s on these machines; allow for a loaded CI box. */
const KINESIS_READY_TIMEOUT_MS = 60_000;
const MOTO_READY_TIMEOUT_MS = 30_000;

export interface LocalServer {
  readonly name: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/** Starts `server` listening on LOOPBACK at `port` (0: any free port); resolves with the bound port. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(
  url: string,
  timeoutMs: number,
  child: ChildProcess,
  name: string,
  fix: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new ServerStartError(`${name} exited with code ${child.exitCode} before it was ready. ${fix}`);
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new ServerStartError(`${name} did not answer ${url} within ${timeoutMs} ms. ${fix}`, { cause: lastError });
}

function killOnExit(child: ChildProcess): () => void {
  const kill = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  return () => process.removeListener('exit', kill);
}

/** kinesis-mock (the Kinesis engine inside LocalStack) as an npm package, plain HTTP on a free port. */
export async function startKinesisLocal(options: { port?: number; dataDir?: string } = {}): Promise<LocalServer> {
  const pkgDir = dirname(require.resolve('kinesis-local/package.json'));
  const port = options.port ?? (await freePort());
  const tlsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KINESIS_MOCK_CERT_PATH: join(pkgDir, 'server.json'),
    KINESIS_MOCK_PLAIN_PORT: String(port),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    CREATE_STREAM_DURATION: '0ms',
    DELETE_STREAM_DURATION: '0ms',
    SPLIT_SHARD_DURATION: '0ms',
    MERGE_SHARDS_DURATION: '0ms',
    UPDATE_SHARD_COUNT_DURATION: '0ms',
    LOG_LEVEL: 'ERROR',
    ROOT_LOG_LEVEL: 'ERROR',
  };
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    Object.assign(env, {
      SHOULD_PERSIST_DATA: 'true',
      LOAD_DATA_IF_EXISTS: 'true',
      PERSIST_PATH: options.dataDir,
      PERSIST_INTERVAL: '1s',
    });
  }
  const child = spawn(process.execPath, ['--require', join(HERE, 'bind-loopback.cjs'), join(pkgDir, 'main.js')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 50) stderr.push(chunk.toString());
  });
  const unhook = killOnExit(child);
  const endpoint = `http://${LOOPBACK}:${port}`;
  await waitForHttp(
    `${endpoint}/healthcheck`,
    KINESIS_READY_TIMEOUT_MS,
    child,
    'kinesis-local',
    'Run `npm ci` to install it, and check that the port is free.',
  );
  return {
    name: 'kinesis-local',
    endpoint,
    async stop() {
      unhook();
      if (child.exitCode !== null) return;
      // SIGTERM takes 4-10 s (TOOLCHAIN.md); with persistence on, give it a moment to flush first.
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

/** dynalite: DynamoDB on LevelDB, in process. No Streams, no transactions, no UpdateTimeToLive. */
export async function startDynalite(options: { port?: number; dataDir?: string } = {}): Promise<LocalServer> {
  const { default: dynalite } = await import('dynalite');
  const opts: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    opts.path = options.dataDir;
  }
  const server = dynalite(opts);
  const port = await listenOnLoopback(server, options.port);
  return {
    name: 'dynalite',
    endpoint: `http://${LOOPBACK}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Whether `moto_server` (Python, `pip install 'moto[server]'`) is on PATH. */
export function motoAvailable(): boolean {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 });
  return probe.status === 0;
}

/** moto_server: Kinesis, DynamoDB with Streams and TTL, SQS, CloudFormation. */
export async function startMoto(options: { port?: number } = {}): Promise<LocalServer & { reset(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const child = spawn('moto_server', ['-H', LOOPBACK, '-p', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] });
  const unhook = killOnExit(child);
  const endpoint = `http://${LOOPBACK}:${port}`;
  await waitForHttp(
    `${endpoint}/moto-api/`,
    MOTO_READY_TIMEOUT_MS,
    child,
    'moto_server',
    "Install it with `pip install 'moto[server]'`.",
  );
  return {
    name: 'moto_server',
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      unhook();
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
