/** Errors raised by the pure core. */

/** One problem in a configuration, with the path of the offending field (e.g. `metrics[2].windows[0]`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** A configuration that cannot be used. Lists every problem found, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: ReadonlyArray<ConfigProblem>;

  constructor(problems: ReadonlyArray<ConfigProblem>, source = 'configuration', options?: { cause?: unknown }) {
    super(
      `Invalid streamtally ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n'),
      options,
    );
    this.problems = problems;
  }
}
