/**
 * A tiny argument parser for the local CLIs, on top of `node:util` parseArgs: a declared option
 * table gives typed values, `--help`, generated usage text, and one error class for bad input.
 * CLIs print usage and exit 2 on a {@link UsageError}, by convention and via {@link parseArgsOrExit}.
 */
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../core/duration.js';

// Every CLI imports this parser, so every CLI silences the AWS SDK's Node-version notice: the README says
// which Node versions Lambda runs, and the notice (printed at the first client) adds only noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Exit code for bad command-line arguments (the BSD `EX_USAGE` tradition uses 64; shells and npm use 2). */
export const EXIT_USAGE = 2;

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** One line for the usage text. */
  readonly description: string;
  /** Placeholder shown in the usage text, e.g. `NAME`; defaults to `VALUE`. */
  readonly valueName?: string;
  readonly default?: string | boolean;
  readonly required?: boolean;
  readonly multiple?: boolean;
}

export interface CommandSpec<O extends Readonly<Record<string, OptionSpec>>> {
  /** How the command is invoked, e.g. `npm run produce --`. */
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  /** Whether positional arguments are accepted; they are rejected otherwise. */
  readonly positionals?: { readonly valueName: string; readonly description: string };
  readonly examples?: readonly string[];
  /** Free text printed after the options (notes, exit codes). */
  readonly notes?: readonly string[];
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S extends { multiple: true }
    ? boolean[]
    : boolean
  : S extends { multiple: true }
    ? string[]
    : S extends { required: true } | { default: string }
      ? string
      : string | undefined;

export type ParsedValues<O extends Readonly<Record<string, OptionSpec>>> = { -readonly [K in keyof O]: ValueOf<O[K]> };

export interface ParsedCommandLine<O extends Readonly<Record<string, OptionSpec>>> {
  values: ParsedValues<O>;
  positionals: string[];
  help: boolean;
}

/** Bad command-line input; the message says which argument and what is expected. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses `argv` against `spec`. `--help`/`-h` is always accepted and reported as `help: true`
 * (required options are then not checked).
 *
 * @throws {UsageError} on an unknown option, a missing value, a missing required option or an
 *   unexpected positional argument.
 * @example
 * const spec = { name: 'npm run produce --', summary: 'Push events', options: {
 *   stream: { type: 'string', required: true, valueName: 'NAME', description: 'Kinesis stream' },
 * } } as const satisfies CommandSpec<Record<string, OptionSpec>>;
 * const { values } = parseCommandLine(spec, ['--stream', 'clicks']); // values.stream: string
 */
export function parseCommandLine<O extends Readonly<Record<string, OptionSpec>>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): ParsedCommandLine<O> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, spec.options),
      options,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    });
  } catch (err) {
    throw new UsageError(describeParseError(err), { cause: err });
  }
  const help = parsed.values.help === true;
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const value = parsed.values[name];
    if (value === undefined) {
      if (option.required && !help)
        throw new UsageError(`missing required option --${name} ${option.valueName ?? 'VALUE'}`);
      values[name] = option.default ?? (option.type === 'boolean' && !option.multiple ? false : undefined);
    } else if (option.type === 'string' && typeof value === 'string' && value.startsWith('--')) {
      // parseArgs takes `--stream --rate` as stream="--rate"; that is almost always a forgotten value.
      throw new UsageError(`option --${name} needs a value, got the option ${value}`);
    } else {
      values[name] = value;
    }
  }
  return { values: values as ParsedValues<O>, positionals: parsed.positionals, help };
}

/** A negative number after a string option is its value: `--seed -1` -> `--seed=-1` (parseArgs calls it ambiguous). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

function joinNegativeValues(argv: readonly string[], specOptions: Readonly<Record<string, OptionSpec>>): string[] {
  const longOf = new Map<string, string>();
  for (const [name, option] of Object.entries(specOptions)) {
    if (option.type !== 'string') continue;
    longOf.set(`--${name}`, name);
    if (option.short) longOf.set(`-${option.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = longOf.get(argv[i]);
    if (name !== undefined && i + 1 < argv.length && NEGATIVE_NUMBER.test(argv[i + 1])) {
      out.push(`--${name}=${argv[++i]}`);
    } else {
      out.push(argv[i]);
      if (argv[i] === '--') {
        out.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  return out;
}

function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // parseArgs appends advice for script authors ("To specify a positional argument starting with a
  // '-', ..."); keep what names the argument and the "Did you forget ...?" hint.
  return message
    .split('\n')
    .map((line) => line.replace(/\s*To specify .*$/, '').trim())
    .filter((line) => line.length > 0)
    .join(' ')
    .replace(/\.$/, '');
}

/** The usage text: synopsis, options with their placeholders and defaults, notes, examples. */
export function formatUsage<O extends Readonly<Record<string, OptionSpec>>>(spec: CommandSpec<O>): string {
  const synopsis: string[] = [spec.name];
  const rows: Array<[string, string]> = [];
  for (const [name, option] of Object.entries(spec.options)) {
    const flag = option.type === 'string' ? `--${name} ${option.valueName ?? 'VALUE'}` : `--${name}`;
    synopsis.push(option.required ? flag : `[${flag}]`);
    const left = option.short ? `-${option.short}, ${flag}` : `    ${flag}`;
    const extras: string[] = [];
    if (option.required) extras.push('required');
    if (option.default !== undefined && option.default !== false) extras.push(`default: ${String(option.default)}`);
    rows.push([left, extras.length ? `${option.description} (${extras.join('; ')})` : option.description]);
  }
  if (spec.positionals) synopsis.push(`[${spec.positionals.valueName}...]`);
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [`Usage: ${synopsis.join(' ')}`, '', spec.summary, '', 'Options:'];
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  if (spec.positionals)
    lines.push('', `Arguments:`, `  ${spec.positionals.valueName}  ${spec.positionals.description}`);
  if (spec.notes?.length) lines.push('', ...spec.notes);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((example) => `  ${example}`));
  return `${lines.join('\n')}\n`;
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  exit(code: number): never;
}

const PROCESS_IO: CliIo = { stdout: process.stdout, stderr: process.stderr, exit: (code) => process.exit(code) };

/**
 * {@link parseCommandLine} for a CLI's entry point: `--help` prints usage and exits 0; a
 * {@link UsageError} prints the error and the usage to stderr and exits {@link EXIT_USAGE}.
 *
 * @example
 * const { values } = parseArgsOrExit(spec); // from process.argv
 */
export function parseArgsOrExit<O extends Readonly<Record<string, OptionSpec>>>(
  spec: CommandSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
  io: CliIo = PROCESS_IO,
): ParsedCommandLine<O> {
  let parsed: ParsedCommandLine<O>;
  try {
    parsed = parseCommandLine(spec, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return usageExit(spec, err.message, io);
  }
  if (parsed.help) {
    io.stdout.write(formatUsage(spec));
    return io.exit(0);
  }
  return parsed;
}

/** Prints `error: <message>` and the usage to stderr, then exits {@link EXIT_USAGE}. For checks done after parsing. */
export function usageExit<O extends Readonly<Record<string, OptionSpec>>>(
  spec: CommandSpec<O>,
  message: string,
  io: CliIo = PROCESS_IO,
): never {
  io.stderr.write(`error: ${message}\n\n${formatUsage(spec)}`);
  return io.exit(EXIT_USAGE);
}

/**
 * `500ms`, `60s`, `5m`, `2h`, `1d` -> milliseconds: `<integer><ms|s|m|h|d>`, as in the metric definitions.
 *
 * @throws {UsageError} naming `optionName` when the text is not a positive duration.
 * @example parseDurationOption('90s', 'duration') // 90000
 */
export function parseDurationOption(text: string, optionName: string): number {
  // The metric definitions' grammar (src/core/duration.ts): one way to write a duration everywhere.
  const ms = parseDurationMs(text.trim());
  if (!(ms > 0)) {
    throw new UsageError(`--${optionName} must be a positive duration such as 500ms, 60s, 5m, 1h or 1d, got "${text}"`);
  }
  return ms;
}

/**
 * A positive number (integer unless `allowFraction`).
 *
 * @throws {UsageError} naming `optionName` when the text is not one.
 * @example parsePositiveNumber('250', 'rate') // 250
 */
export function parsePositiveNumber(text: string, optionName: string, allowFraction = false): number {
  const value = Number(text.trim());
  const ok = text.trim() !== '' && Number.isFinite(value) && value > 0 && (allowFraction || Number.isInteger(value));
  if (!ok)
    throw new UsageError(`--${optionName} must be a positive ${allowFraction ? 'number' : 'integer'}, got "${text}"`);
  return value;
}

/**
 * A non-negative integer (0 allowed), e.g. a seed.
 *
 * @throws {UsageError} naming `optionName` when the text is not one.
 */
export function parseNonNegativeInteger(text: string, optionName: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(`--${optionName} must be a non-negative integer, got "${text}"`);
  }
  return value;
}

/**
 * Runs a CLI's `main` and exits with its code: a {@link UsageError} thrown anywhere (a bad value found
 * after parsing) prints the error and the usage and exits {@link EXIT_USAGE}; any other error prints its
 * message and its cause's, never a stack, and exits 1 (set STREAMTALLY_DEBUG=1 for the stack).
 *
 * @example
 * runCli(SPEC, 'npm run replay', () => main(process.argv.slice(2)));
 */
export function runCli<O extends Readonly<Record<string, OptionSpec>>>(
  spec: CommandSpec<O>,
  label: string,
  main: () => Promise<number | void> | number | void,
  options: { io?: CliIo; exitWhenDone?: boolean } = {},
): void {
  const io = options.io ?? PROCESS_IO;
  // By default exit once main settles: SDK keep-alive sockets would otherwise hold the process open.
  const exitWhenDone = options.exitWhenDone ?? true;
  const fail = (err: unknown): void => {
    if (err instanceof UsageError) {
      usageExit(spec, err.message, io);
      return;
    }
    io.stderr.write(`${label} failed: ${describeError(err)}\n`);
    if (process.env.STREAMTALLY_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    io.exit(1);
  };
  try {
    Promise.resolve(main()).then((code) => {
      if (exitWhenDone) io.exit(typeof code === 'number' ? code : 0);
      else if (typeof code === 'number') process.exitCode = code;
    }, fail);
  } catch (err) {
    fail(err);
  }
}

/** An error's message and its causes' messages, on one line; no stack. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const message = current instanceof Error ? current.message || current.name : String(current);
    if (!parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': caused by: ');
}
