/** `npm start` as a child process, the way a user runs it, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RUNNER_START_DEADLINE_MS = 120_000;

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs` with `detail()`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}\n${detail()}\n${last ? String(last) : ''}`);
}

export class RunnerProcess {
  output = '';
  /** Set once every process holding the output pipes (npm, tsx, the runner) has gone. */
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null = null;
  private readonly child: ChildProcess;

  private constructor(args: string[]) {
    // Its own process group, so that SIGINT reaches npm, tsx and the runner together, as Ctrl-C does.
    this.child = spawn('npm', ['start', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.on('close', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
    });
  }

  /** Starts `npm start -- <args>` and waits until it prints the dashboard address. */
  static async start(args: string[]): Promise<RunnerProcess> {
    const runner = new RunnerProcess(args);
    await waitFor(
      'the dashboard line',
      () => (/dashboard: http:\/\/127\.0\.0\.1:\d+\//.test(runner.output) ? true : undefined),
      RUNNER_START_DEADLINE_MS,
      () => runner.output,
    );
    return runner;
  }

  /** The `endpoints:` line: kinesis, dynamodb, sqs, counters (table), failures (queue URL). */
  get endpoints(): Record<string, string> {
    return Object.fromEntries(
      [...(/endpoints: (.*)/.exec(this.output)?.[1] ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
    );
  }

  get streamName(): string {
    return /--stream (\S+)/.exec(this.output)?.[1] as string;
  }

  get dashboardUrl(): string {
    return /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(this.output)?.[1] as string;
  }

  /** Ctrl-C: SIGINT to the whole process group, then wait until everything has exited. */
  async interrupt(timeoutMs = 30_000): Promise<void> {
    process.kill(-(this.child.pid as number), 'SIGINT');
    await waitFor(
      'the runner to exit after SIGINT',
      () => (this.exitCode === undefined ? undefined : true),
      timeoutMs,
      () => this.output,
    );
  }

  /** npm itself ends by the SIGINT it received (code null), as in a terminal; the runner must have said so. */
  get stoppedCleanly(): boolean {
    return (
      (this.exitCode === 0 || (this.exitCode === null && this.exitSignal === 'SIGINT')) &&
      this.output.includes('stopped.')
    );
  }

  async kill(): Promise<void> {
    if (this.child.pid && this.exitCode === undefined) {
      process.kill(-this.child.pid, 'SIGKILL');
      await waitFor('the runner to exit', () => (this.exitCode === undefined ? undefined : true), 15_000);
    }
  }
}
