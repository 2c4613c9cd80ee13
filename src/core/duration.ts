/** Durations as users write them (`30s`, `5m`, `1h`, `7d`, `500ms`) and back. */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** Milliseconds for a duration string, or NaN when it is not of the form `<integer><ms|s|m|h|d>`. */
export function parseDurationMs(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** The shortest canonical label for a duration: 60000 -> `1m`, 90000 -> `90s`. */
export function formatDurationLabel(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
