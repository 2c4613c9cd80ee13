import { describe, expect, it } from 'vitest';
import {
  EXIT_USAGE,
  formatUsage,
  parseArgsOrExit,
  parseCommandLine,
  parseDurationOption,
  parseNonNegativeInteger,
  parsePositiveNumber,
  describeError,
  runCli,
  UsageError,
  type CliIo,
  type CommandSpec,
  type OptionSpec,
} from '../../../src/cli/args.js';

const SPEC = {
  name: 'npm run demo --',
  summary: 'A demo command.',
  options: {
    stream: { type: 'string', required: true, valueName: 'NAME', description: 'stream name' },
    rate: { type: 'string', valueName: 'N', default: '100', description: 'records per second' },
    file: { type: 'string', short: 'f', valueName: 'PATH', description: 'input file' },
    verbose: { type: 'boolean', short: 'v', description: 'more output' },
    tag: { type: 'string', multiple: true, description: 'a tag, repeatable' },
  },
  notes: ['Exit codes: 0 ok, 2 bad arguments.'],
  examples: ['npm run demo -- --stream s'],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (text: string) => (io.out += text) },
    stderr: { write: (text: string) => (io.err += text) },
    exit: (code: number): never => {
      throw new ExitCalled(code);
    },
  };
  return io;
}

describe('parseCommandLine', () => {
  it('returns typed values with defaults', () => {
    const { values, positionals, help } = parseCommandLine(SPEC, [
      '--stream',
      'clicks',
      '-f',
      'a.ndjson',
      '-v',
      '--tag',
      'x',
      '--tag',
      'y',
    ]);

    expect(values).toEqual({ stream: 'clicks', rate: '100', file: 'a.ndjson', verbose: true, tag: ['x', 'y'] });
    expect(positionals).toEqual([]);
    expect(help).toBe(false);
    // Compile-time: required and defaulted strings are plain strings.
    const stream: string = values.stream;
    const rate: string = values.rate;
    expect(stream + rate).toBe('clicks100');
  });

  it('accepts --name=value and leaves absent options undefined or false', () => {
    const { values } = parseCommandLine(SPEC, ['--stream=clicks']);
    expect(values).toEqual({ stream: 'clicks', rate: '100', file: undefined, verbose: false, tag: undefined });
  });

  it.each([
    [['--stream', 's', '--nope'], "Unknown option '--nope'"],
    [[], 'missing required option --stream NAME'],
    [['--stream'], "Option '--stream <value>' argument missing"],
    [['--stream', 's', 'extra'], "Unexpected argument 'extra'"],
    [['--stream', 's', '--verbose=yes'], "Option '-v, --verbose' does not take an argument"],
  ])('%j is a UsageError: %s', (argv, message) => {
    expect(() => parseCommandLine(SPEC, argv)).toThrow(UsageError);
    expect(() => parseCommandLine(SPEC, argv)).toThrow(message);
  });

  it('drops parseArgs advice for script authors from the message', () => {
    try {
      parseCommandLine(SPEC, ['--stream', 's', '--nope']);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('To specify');
      expect((err as Error).cause).toBeInstanceOf(Error);
    }
  });

  it('takes a value that looks like an option as a forgotten value', () => {
    expect(() => parseCommandLine(SPEC, ['--stream', 's', '--file', '--verbose'])).toThrow(
      /--file needs a value|ambiguous/,
    );
  });

  it('reports --help without checking required options', () => {
    expect(parseCommandLine(SPEC, ['--help']).help).toBe(true);
    expect(parseCommandLine(SPEC, ['-h']).help).toBe(true);
  });

  it('accepts positionals only when the spec declares them', () => {
    const withFiles = { ...SPEC, positionals: { valueName: 'FILE', description: 'input files' } };
    expect(parseCommandLine(withFiles, ['--stream', 's', 'a', 'b']).positionals).toEqual(['a', 'b']);
  });
});

describe('formatUsage', () => {
  it('lists the synopsis, every option with placeholder, default and required marks, notes and examples', () => {
    const usage = formatUsage(SPEC);
    expect(usage.split('\n')[0]).toBe(
      'Usage: npm run demo -- --stream NAME [--rate N] [--file PATH] [--verbose] [--tag VALUE]',
    );
    expect(usage).toContain('--stream NAME  stream name (required)');
    expect(usage).toContain('--rate N       records per second (default: 100)');
    expect(usage).toContain('-f, --file PATH');
    expect(usage).toContain('-h, --help');
    expect(usage).toContain('Exit codes: 0 ok, 2 bad arguments.');
    expect(usage).toMatch(/Examples:\n {2}npm run demo -- --stream s\n$/);
  });
});

describe('parseArgsOrExit', () => {
  it('prints the error and usage to stderr and exits 2 on bad arguments', () => {
    const io = fakeIo();
    expect(() => parseArgsOrExit(SPEC, ['--bogus'], io)).toThrow(new ExitCalled(EXIT_USAGE));
    expect(io.err).toMatch(/^error: Unknown option '--bogus'\n\nUsage: npm run demo --/);
    expect(io.out).toBe('');
  });

  it('prints usage to stdout and exits 0 on --help', () => {
    const io = fakeIo();
    expect(() => parseArgsOrExit(SPEC, ['--help'], io)).toThrow(new ExitCalled(0));
    expect(io.out).toBe(formatUsage(SPEC));
    expect(io.err).toBe('');
  });

  it('returns the parsed values otherwise', () => {
    expect(parseArgsOrExit(SPEC, ['--stream', 's'], fakeIo()).values.stream).toBe('s');
  });
});

describe('value parsers', () => {
  it.each([
    ['500ms', 500],
    ['60s', 60_000],
    ['90s', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 10s ', 10_000],
  ])("parseDurationOption(%j) = %d (the metric definitions' grammar)", (text, ms) => {
    expect(parseDurationOption(text, 'duration')).toBe(ms);
  });

  it.each(['', '0s', '-5s', '10 minutes', '1.5m', '30', 'abc', '1e3s'])(
    'parseDurationOption(%j) is a UsageError naming the option',
    (text) => {
      expect(() => parseDurationOption(text, 'duration')).toThrow(/^--duration must be a positive duration/);
    },
  );

  it('parsePositiveNumber takes integers, and fractions only when allowed', () => {
    expect(parsePositiveNumber('250', 'rate')).toBe(250);
    expect(parsePositiveNumber('0.5', 'rate', true)).toBe(0.5);
    for (const bad of ['0.5', '0', '-1', '', 'x', 'Infinity'])
      expect(() => parsePositiveNumber(bad, 'count')).toThrow(/^--count must be a positive integer/);
  });

  it('parseNonNegativeInteger accepts 0 and rejects fractions and negatives', () => {
    expect(parseNonNegativeInteger('0', 'seed')).toBe(0);
    expect(parseNonNegativeInteger('42', 'seed')).toBe(42);
    for (const bad of ['-1', '1.5', '', 'seed']) expect(() => parseNonNegativeInteger(bad, 'seed')).toThrow(UsageError);
  });
});

describe('negative numbers are values', () => {
  it('--rate -5 and -f -1 give the values (parseArgs alone calls them ambiguous)', () => {
    const { values } = parseCommandLine(SPEC, ['--stream', 's', '--rate', '-5', '-f', '-1.5']);
    expect(values.rate).toBe('-5');
    expect(values.file).toBe('-1.5');
  });

  it('a dash that is not a number is still an option, and after -- everything is positional text', () => {
    expect(() => parseCommandLine(SPEC, ['--stream', '-v'])).toThrow(UsageError);
    expect(parseCommandLine(SPEC, ['--stream', 's', '-v']).values.verbose).toBe(true);
  });
});

describe('runCli', () => {
  it('a UsageError thrown after parsing prints the error and the usage and exits 2', async () => {
    const io = fakeIo();
    const exited = new Promise<number>((resolve) => {
      io.exit = ((code: number) => resolve(code)) as CliIo['exit'];
    });
    runCli(SPEC, 'npm run demo', async () => parsePositiveNumber('x', 'rate'), { io });
    expect(await exited).toBe(EXIT_USAGE);
    expect(io.err).toMatch(/^error: --rate must be a positive integer, got "x"\n\nUsage: npm run demo --/);
  });

  it('any other error prints one line with its causes, no stack, and exits 1', async () => {
    const io = fakeIo();
    const exited = new Promise<number>((resolve) => {
      io.exit = ((code: number) => resolve(code)) as CliIo['exit'];
    });
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    runCli(
      SPEC,
      'npm run demo',
      async () => {
        throw new Error('ReceiveMessage failed', { cause });
      },
      { io },
    );
    expect(await exited).toBe(1);
    expect(io.err).toBe('npm run demo failed: ReceiveMessage failed: caused by: connect ECONNREFUSED 127.0.0.1:9\n');
  });

  it('describeError stops at repeated messages', () => {
    const inner = new Error('same');
    expect(describeError(new Error('same', { cause: inner }))).toBe('same');
  });
});
