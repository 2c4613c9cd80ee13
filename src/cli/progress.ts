/**
 * One progress line for long-running CLIs. On a TTY it is redrawn in place (at most every
 * `redrawMs`); otherwise (CI logs, pipes, files) a full line is printed every `intervalMs`, so logs
 * stay readable and small. The mode is decided once, at construction.
 */

/** What a progress line writes to: `process.stderr` or any writable text sink. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressLineOptions {
  output?: ProgressOutput;
  /** Overrides `output.isTTY`, e.g. to force line mode. */
  tty?: boolean;
  /** Non-TTY: print at most one line per this many ms. */
  intervalMs?: number;
  /** TTY: redraw at most this often, in ms. */
  redrawMs?: number;
  now?: () => number;
}

const DEFAULT_INTERVAL_MS = 5_000;
const DEFAULT_REDRAW_MS = 100;
/** Used when a TTY does not report its width. */
const DEFAULT_COLUMNS = 80;
/** Erase from the cursor to the end of the line (ECMA-48 EL). */
const CLEAR_TO_EOL = '\x1b[K';

/**
 * @example
 * const progress = new ProgressLine({ output: process.stderr });
 * for (...) progress.update(`sent ${sent} (${rate}/s)`);
 * progress.done(`sent ${sent}`);
 */
export class ProgressLine {
  private readonly output: ProgressOutput;
  private readonly tty: boolean;
  private readonly minGapMs: number;
  private readonly now: () => number;
  private lastDrawAt: number;
  private pending: string | undefined;
  private drawn: boolean;

  constructor(options: ProgressLineOptions = {}) {
    this.output = options.output ?? process.stderr;
    this.tty = options.tty ?? this.output.isTTY === true;
    this.minGapMs = this.tty ? (options.redrawMs ?? DEFAULT_REDRAW_MS) : (options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.now = options.now ?? Date.now;
    this.lastDrawAt = Number.NEGATIVE_INFINITY;
    this.pending = undefined;
    this.drawn = false;
  }

  /** Whether the line is redrawn in place. */
  get isTTY(): boolean {
    return this.tty;
  }

  /** Shows `text` now if the last draw is old enough; otherwise keeps it for the next draw. */
  update(text: string): void {
    this.pending = text;
    const now = this.now();
    if (now - this.lastDrawAt >= this.minGapMs) this.draw(now);
  }

  /** Draws the latest text even if it is early (e.g. on a timer, or before exit). */
  flush(): void {
    if (this.pending !== undefined) this.draw(this.now());
  }

  /** Ends the progress line: prints `finalText` (or the latest text) and leaves the cursor on a fresh line. */
  done(finalText?: string): void {
    if (finalText !== undefined) this.pending = finalText;
    if (this.pending !== undefined) this.draw(this.now());
    if (this.tty && this.drawn) this.output.write('\n');
    this.drawn = false;
  }

  /** Clears the in-place line (TTY) so other output can be printed; the next update draws it again. */
  clear(): void {
    if (this.tty && this.drawn) this.output.write(`\r${CLEAR_TO_EOL}`);
    this.drawn = false;
  }

  private draw(now: number): void {
    const text = this.pending ?? '';
    this.pending = undefined;
    this.lastDrawAt = now;
    if (this.tty) {
      // A line longer than the terminal wraps, and `\r` then redraws only its last row.
      // Some pseudo-terminals report 0 columns; treat that like an unknown width.
      const columns =
        this.output.columns !== undefined && this.output.columns > 0 ? this.output.columns : DEFAULT_COLUMNS;
      const width = columns - 1;
      this.output.write(`\r${text.length > width ? text.slice(0, width) : text}${CLEAR_TO_EOL}`);
      this.drawn = true;
    } else {
      this.output.write(`${text}\n`);
    }
  }
}

/**
 * A text bar for a known total, e.g. `[#########-----------]  45%`.
 *
 * @example renderBar(0.45, 20) // '[#########-----------]  45%'
 */
export function renderBar(fraction: number, width = 20): string {
  const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

/** Counts with thousands separators, independent of the machine's locale: `12,345`. */
export function formatCount(value: number): string {
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `850 ms`, `12.3 s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1_000);
  if (totalSeconds < 3_600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`;
}

/**
 * Events per second over a sliding window, for a "sent/s" readout that follows changes in rate
 * instead of averaging over the whole run.
 */
export class RateMeter {
  private readonly windowMs: number;
  private readonly times: number[];
  private readonly totals: number[];

  constructor(windowMs = 5_000) {
    this.windowMs = windowMs;
    this.times = [];
    this.totals = [];
  }

  /** Records that the running total was `total` at time `atMs`; returns the rate per second. */
  record(total: number, atMs: number): number {
    this.times.push(atMs);
    this.totals.push(total);
    let drop = 0;
    while (drop < this.times.length - 2 && atMs - this.times[drop + 1] >= this.windowMs) drop++;
    if (drop > 0) {
      this.times.splice(0, drop);
      this.totals.splice(0, drop);
    }
    const spanMs = atMs - this.times[0];
    return spanMs > 0 ? ((total - this.totals[0]) * 1_000) / spanMs : 0;
  }
}
